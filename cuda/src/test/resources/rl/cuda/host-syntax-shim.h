// Lets a host C++ compiler syntax-check kernels.cu in CI, where there is no NVRTC: CUDA's
// qualifiers become nothing and its built-ins become plain functions. Types and names are checked;
// nothing here runs.
#include <cmath>
#include <algorithm>
#include <cstring>
#define __global__
#define __device__
#define __shared__
#define __forceinline__ inline
struct rl_dim3 { unsigned x, y, z; };
struct float4 { float x, y, z, w; };
extern rl_dim3 threadIdx, blockIdx, blockDim, gridDim;
inline void __syncthreads() {}
inline void __syncwarp() {}
template <class T> T __shfl_sync(unsigned, T v, int) { return v; }
template <class T> T __shfl_xor_sync(unsigned, T v, int) { return v; }
template <class T> T __shfl_up_sync(unsigned, T v, int) { return v; }
inline unsigned __ballot_sync(unsigned, int p) { return p ? 1u : 0u; }
inline int __clz(unsigned x) { return x ? __builtin_clz(x) : 32; }
inline int __ffs(unsigned x) { return __builtin_ffs((int) x); }
inline float atomicAdd(float* a, float v) { float o = *a; *a += v; return o; }
inline double atomicAdd(double* a, double v) { double o = *a; *a += v; return o; }
inline int atomicMin(int* a, int v) { int o = *a; *a = std::min(o, v); return o; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
using std::min;
using std::max;
using std::fmax;
using std::exp;
using std::log;
using std::sqrt;
