// The decoder's elementwise, normalisation, attention, output-head and optimizer kernels for
// CudaOps, compiled at run time by NVRTC for the GPU present. Float32 storage, row-major tensors;
// reductions that decide numerical quality (norms, log-sum-exp) accumulate in double, as Nd4jOps
// does, so the two backends agree to float32 rounding. Matrix products go through cuBLAS, not here.
//
// Launch conventions (CudaOps): 1-D kernels take a flat element count and use a grid-stride loop;
// per-row kernels get one block per row (blockIdx.x) of BLOCK threads.
//
// bfloat16 (frozen base weights, KV caches and the operands CudaOps converts for tensor-core
// products) is handled as raw 16-bit patterns, so no CUDA header is needed: a bf16 is the top half
// of a float32.

#define BLOCK 256

typedef long long i64;
typedef unsigned short bf16;

__device__ __forceinline__ float bf16_to_float(bf16 h) { return __uint_as_float(((unsigned) h) << 16); }

// Round to nearest, ties to even (what Nd4j, PyTorch and CudaOps' host conversion do); NaN stays NaN.
__device__ __forceinline__ bf16 float_to_bf16(float f) {
  unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16) ((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (bf16) (u >> 16);
}

__device__ __forceinline__ float load_f(const float* p) { return *p; }
__device__ __forceinline__ float load_f(const bf16* p) { return bf16_to_float(*p); }
__device__ __forceinline__ void store_f(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_f(bf16* p, float v) { *p = float_to_bf16(v); }

// Eight bf16, or four floats, in one 16-byte load or store.
struct alignas(16) Bf16x8 {
  unsigned w[4];
};
struct alignas(16) Float4 {
  float v[4];
};

// out [n] = bf16(x [n]): the fp32 operand of a product whose other operand is bf16
extern "C" __global__ void to_bf16(bf16* out, const float* x, i64 n) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    out[i] = float_to_bf16(x[i]);
  }
}

// out [n] = float(x [n])
extern "C" __global__ void bf16_to_f32(float* out, const bf16* x, i64 n) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    out[i] = bf16_to_float(x[i]);
  }
}

// For entry blockIdx.y of table {dst, src, n} (three i64 each, float32 addresses): dst[:n] = src[:n].
extern "C" __global__ void copy_all(const i64* table) {
  const i64* e = table + 3 * (i64) blockIdx.y;
  float* dst = (float*) e[0];
  const float* src = (const float*) e[1];
  i64 n = e[2];
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    dst[i] = src[i];
  }
}

extern "C" __global__ void fill_f32(float* x, i64 n, float value) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    x[i] = value;
  }
}

// acc += scale · x
extern "C" __global__ void axpy_f32(float* acc, const float* x, i64 n, float scale) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    acc[i] += scale * x[i];
  }
}

// out = a + b
extern "C" __global__ void add_f32(float* out, const float* a, const float* b, i64 n) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    out[i] = a[i] + b[i];
  }
}

// x [rows, cols] += bias [1, cols] on every row
extern "C" __global__ void add_bias(float* x, const float* bias, i64 n, int cols) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    x[i] += bias[i % cols];
  }
}

// acc [1, cols] += Σ_rows x [rows, cols]; one thread per column, the sum in double
extern "C" __global__ void sum_rows_into(float* acc, const float* x, int rows, int cols) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  double sum = 0;
  for (int r = 0; r < rows; r++) sum += x[(i64) r * cols + c];
  acc[c] += (float) sum;
}

// Block-wide sum of one double per thread; every thread gets the total.
__device__ double block_sum(double v, double* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int warps = (blockDim.x + 31) >> 5;
  double total = 0;
  for (int w = 0; w < warps; w++) total += scratch[w];
  return total;
}

// Three block-wide sums at once (one pair of barriers instead of three); every thread gets them.
// scratch holds 3 · 32 doubles.
__device__ void block_sum3(double& a, double& b, double& c, double* scratch) {
  for (int o = 16; o > 0; o >>= 1) {
    a += __shfl_xor_sync(0xffffffff, a, o);
    b += __shfl_xor_sync(0xffffffff, b, o);
    c += __shfl_xor_sync(0xffffffff, c, o);
  }
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = a;
    scratch[32 + warp] = b;
    scratch[64 + warp] = c;
  }
  __syncthreads();
  int warps = (blockDim.x + 31) >> 5;
  a = b = c = 0;
  for (int w = 0; w < warps; w++) {
    a += scratch[w];
    b += scratch[32 + w];
    c += scratch[64 + w];
  }
}

__device__ double block_max(double v, double* scratch) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffff, v, o));
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int warps = (blockDim.x + 31) >> 5;
  double m = -1.0 / 0.0;
  for (int w = 0; w < warps; w++) m = fmax(m, scratch[w]);
  return m;
}

// log Σ_j exp(row[j]) over a row of n values (-inf for n = 0), for one block: one pass, each
// thread keeping a running maximum and a double sum of float exponentials rescaled when the
// maximum moves (float exp moves the sums by ~1e-7; double exp over 150k ids was the head's main
// cost), float4 loads where the row allows. Every thread gets the result.
__device__ double row_logsumexp(const float* row, int n, double* scratch) {
  float m = -1.0f / 0.0f;
  double sum = 0;
  auto take = [&](float x) {
    if (x > m) {
      sum = sum * expf(m - x) + 1.0;
      m = x;
    } else {
      sum += expf(x - m);
    }
  };
  if ((n & 3) == 0 && (((unsigned long long) row) & 15) == 0) {
    const float4* row4 = reinterpret_cast<const float4*>(row);
    for (int j = threadIdx.x; j < n / 4; j += blockDim.x) {
      float4 x = row4[j];
      take(x.x);
      take(x.y);
      take(x.z);
      take(x.w);
    }
  } else {
    for (int j = threadIdx.x; j < n; j += blockDim.x) take(row[j]);
  }
  double top = block_max(m, scratch);
  __syncthreads();
  double total = block_sum(sum == 0 ? 0 : sum * exp(m - top), scratch);
  return top + log(total);
}

// out[0] += Σ x², in double: for gradient norms
extern "C" __global__ void sum_squares(const float* x, i64 n, double* out) {
  __shared__ double scratch[32];
  double s = 0;
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    double v = x[i];
    s += v * v;
  }
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) atomicAdd(out, s);
}

// Up to three rank-1 adapters reading a normed row: u_i [row] = Σ_c out[c] · A_i[c], formed while
// the norm writes the row (the first half of each adapter's forward, one pass over the row for all).
#define NORM_ADAPTERS_ARGS                                                                  \
  int adapters, const float *__restrict__ a0, const float *__restrict__ a1,                   \
      const float *__restrict__ a2, float *u0, float *u1, float *u2
#define NORM_ADAPTERS_TAKE(o, c)            \
  if (adapters > 0) d0 += (o) * a0[c];    \
  if (adapters > 1) d1 += (o) * a1[c];    \
  if (adapters > 2) d2 += (o) * a2[c];
#define NORM_ADAPTERS_STORE(row)                                    \
  if (adapters > 0) {                                               \
    block_sum3(d0, d1, d2, scratch);                                \
    if (threadIdx.x == 0) {                                         \
      u0[row] = (float) d0;                                         \
      if (adapters > 1) u1[row] = (float) d1;                       \
      if (adapters > 2) u2[row] = (float) d2;                       \
    }                                                               \
  }

// The rest of a norm once a thread holds its values of the row, x [k] at i = threadIdx.x + k ·
// blockDim.x (zero past width): every load of the row, the weight and the adapters' A is issued
// before the first reduction, so the block waits for memory once (rows up to NORM_PER · blockDim.x
// wide; a decode step's norms are latency-bound, with only a block per row). Returns rstd.
#define NORM_PER 8
__device__ __forceinline__ double norm_from_registers(const float (&xv)[NORM_PER], int width,
                                                      const float* __restrict__ w,
                                                      float* __restrict__ out,
                                                      bf16* __restrict__ out16, float eps,
                                                      NORM_ADAPTERS_ARGS, i64 row,
                                                      double* scratch) {
  float wv[NORM_PER], av[3][NORM_PER];
#pragma unroll
  for (int k = 0; k < NORM_PER; k++) {
    int i = threadIdx.x + k * blockDim.x;
    bool in = i < width;
    wv[k] = in ? w[i] : 0.0f;
    av[0][k] = in && adapters > 0 ? a0[i] : 0.0f;
    av[1][k] = in && adapters > 1 ? a1[i] : 0.0f;
    av[2][k] = in && adapters > 2 ? a2[i] : 0.0f;
  }
  double ss = 0;
#pragma unroll
  for (int k = 0; k < NORM_PER; k++) ss += (double) xv[k] * xv[k];
  ss = block_sum(ss, scratch);
  double inv = 1.0 / sqrt(ss / width + eps);
  double d0 = 0, d1 = 0, d2 = 0;
#pragma unroll
  for (int k = 0; k < NORM_PER; k++) {
    int i = threadIdx.x + k * blockDim.x;
    if (i < width) {
      float o = (float) (xv[k] * inv) * wv[k];
      out[i] = o;
      if (out16) out16[i] = float_to_bf16(o);
      d0 += o * av[0][k];
      d1 += o * av[1][k];
      d2 += o * av[2][k];
    }
  }
  NORM_ADAPTERS_STORE(row)
  return inv;
}

// RMSNorm of each width-wide group of a row: block (row, group).
// out = x · rstd · w, rstd [rows, groups] = (mean(x²) + eps)^(-1/2); out16, when not null, gets
// out rounded to bf16 too (the operand of the products that read it); adapters only with one group.
extern "C" __global__ void rmsnorm(float* __restrict__ out, bf16* __restrict__ out16,
                                   float* __restrict__ rstd, const float* __restrict__ x,
                                   const float* __restrict__ w, int cols, int width, float eps,
                                   NORM_ADAPTERS_ARGS) {
  __shared__ double scratch[3 * 32];
  int row = blockIdx.x, g = blockIdx.y, groups = cols / width;
  i64 at = (i64) row * cols + (i64) g * width;
  const float* xr = x + at;
  if (width <= NORM_PER * (int) blockDim.x) {
    float xv[NORM_PER];
#pragma unroll
    for (int k = 0; k < NORM_PER; k++) {
      int i = threadIdx.x + k * blockDim.x;
      xv[k] = i < width ? xr[i] : 0.0f;
    }
    double inv = norm_from_registers(xv, width, w, out + at, out16 ? out16 + at : nullptr, eps,
                                     adapters, a0, a1, a2, u0, u1, u2, row, scratch);
    if (threadIdx.x == 0) rstd[(i64) row * groups + g] = (float) inv;
    return;
  }
  double ss = 0;
  for (int i = threadIdx.x; i < width; i += blockDim.x) ss += (double) xr[i] * xr[i];
  ss = block_sum(ss, scratch);
  double inv = 1.0 / sqrt(ss / width + eps);
  double d0 = 0, d1 = 0, d2 = 0;
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    float o = (float) (xr[i] * inv) * w[i];
    out[at + i] = o;
    if (out16) out16[at + i] = float_to_bf16(o);
    NORM_ADAPTERS_TAKE(o, i)
  }
  NORM_ADAPTERS_STORE(row)
  if (threadIdx.x == 0) rstd[(i64) row * groups + g] = (float) inv;
}

// sum = a + b, then out = rmsnorm(sum) over the whole row: the residual add and the next norm in
// one pass (out16 and the adapters as in rmsnorm). One block per row.
extern "C" __global__ void add_rmsnorm(float* sum, float* __restrict__ out,
                                       bf16* __restrict__ out16, float* __restrict__ rstd,
                                       const float* a, const float* b, const float* __restrict__ w,
                                       int cols, float eps, NORM_ADAPTERS_ARGS) {
  __shared__ double scratch[3 * 32];
  i64 base = (i64) blockIdx.x * cols;
  if (cols <= NORM_PER * (int) blockDim.x) {
    float xv[NORM_PER];
#pragma unroll
    for (int k = 0; k < NORM_PER; k++) {
      int i = threadIdx.x + k * blockDim.x;
      xv[k] = i < cols ? a[base + i] + b[base + i] : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < NORM_PER; k++) {
      int i = threadIdx.x + k * blockDim.x;
      if (i < cols) sum[base + i] = xv[k];
    }
    double inv = norm_from_registers(xv, cols, w, out + base, out16 ? out16 + base : nullptr, eps,
                                     adapters, a0, a1, a2, u0, u1, u2, blockIdx.x, scratch);
    if (threadIdx.x == 0) rstd[blockIdx.x] = (float) inv;
    return;
  }
  double ss = 0;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) {
    float x = a[base + i] + b[base + i];
    sum[base + i] = x;
    ss += (double) x * x;
  }
  ss = block_sum(ss, scratch);
  double inv = 1.0 / sqrt(ss / cols + eps);
  double d0 = 0, d1 = 0, d2 = 0;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) {
    float o = (float) (sum[base + i] * inv) * w[i];
    out[base + i] = o;
    if (out16) out16[base + i] = float_to_bf16(o);
    NORM_ADAPTERS_TAKE(o, i)
  }
  NORM_ADAPTERS_STORE(blockIdx.x)
  if (threadIdx.x == 0) rstd[blockIdx.x] = (float) inv;
}

// dx += inv · w · dy − inv³ / width · x · Σ_j dy_j w_j x_j ; block (row, group)
extern "C" __global__ void rmsnorm_backward_dx(float* dx, const float* dout, const float* x,
                                               const float* w, const float* rstd, int cols,
                                               int width) {
  __shared__ double scratch[32];
  int row = blockIdx.x, g = blockIdx.y, groups = cols / width;
  i64 base = (i64) row * cols + (i64) g * width;
  double inv = rstd[(i64) row * groups + g];
  double dot = 0;
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    dot += (double) dout[base + i] * w[i] * x[base + i];
  }
  dot = block_sum(dot, scratch);
  double k = inv * inv * inv * dot / width;
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    dx[base + i] += (float) (inv * w[i] * dout[base + i] - k * x[base + i]);
  }
}

// dweight [1, width] += Σ_rows Σ_groups dy · x · rstd ; one thread per weight element
extern "C" __global__ void rmsnorm_backward_dw(float* dw, const float* dout, const float* x,
                                               const float* rstd, int rows, int cols, int width) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= width) return;
  int groups = cols / width;
  double acc = 0;
  for (int r = 0; r < rows; r++) {
    for (int g = 0; g < groups; g++) {
      i64 at = (i64) r * cols + (i64) g * width + i;
      acc += (double) dout[at] * x[at] * rstd[(i64) r * groups + g];
    }
  }
  dw[i] += (float) acc;
}

// Rotate-half RoPE in place on x [rows, heads·HS]; sign −1 turns backwards (the backward pass).
extern "C" __global__ void rope(float* x, const int* positions, const float* cosT,
                                const float* sinT, int rows, int cols, int headSize, float sign) {
  int half = headSize / 2;
  i64 pairs = (i64) rows * (cols / 2);
  for (i64 p = blockIdx.x * (i64) blockDim.x + threadIdx.x; p < pairs;
       p += (i64) gridDim.x * blockDim.x) {
    int n = (int) (p / (cols / 2));
    int rem = (int) (p % (cols / 2));
    int h = rem / half, i = rem % half;
    i64 at = (i64) n * cols + (i64) h * headSize + i;
    float c = cosT[(i64) positions[n] * half + i];
    float s = sign * sinT[(i64) positions[n] * half + i];
    float a = x[at], b = x[at + half];
    x[at] = a * c - b * s;
    x[at + half] = b * c + a * s;
  }
}

// A decode step's attention inputs in one launch: q [rows, NH·HS], k and v [rows, NKV·HS] get
// their products (from qkv [rows, NH·HS + 2·NKV·HS], one product of the three projections side by
// side; qkv null: q, k and v hold them already), their biases (null for none) and their adapters'
// output terms (u [rows, rank], B [cols, rank], scale; u null for none); q and k rotate (RoPE as in
// rope), and k and v go to cache rows cacheRows[n] of kc and vc (bf16 caches when cache16, else
// float32). A thread per q pair, k pair or v value of a row.
struct DecodeLora {
  const float* u;
  const float* b;
  int rank;
  float scale;
};
__device__ __forceinline__ float decode_lora(const DecodeLora& a, i64 row, int col) {
  if (a.u == nullptr) return 0.0f;
  float s = 0;
  for (int r = 0; r < a.rank; r++) s += a.u[row * a.rank + r] * a.b[(i64) col * a.rank + r];
  return a.scale * s;
}
__device__ __forceinline__ void decode_cache_store(void* cache, bool cache16, i64 at, float x) {
  if (cache16) {
    reinterpret_cast<bf16*>(cache)[at] = float_to_bf16(x);
  } else {
    reinterpret_cast<float*>(cache)[at] = x;
  }
}
extern "C" __global__ void rope_into_cache(const float* qkv, float* q, float* k, float* v,
                                           const float* qBias, const float* kBias,
                                           const float* vBias, const int* positions,
                                           const float* cosT, const float* sinT, int rows,
                                           int qCols, int kCols, int headSize, void* kc, void* vc,
                                           const int* cacheRows, int cache16, const float* qu,
                                           const float* qb, int qr, float qs, const float* ku,
                                           const float* kb, int kr, float ks, const float* vu,
                                           const float* vb, int vr, float vs) {
  DecodeLora lq{qu, qb, qr, qs}, lk{ku, kb, kr, ks}, lv{vu, vb, vr, vs};
  // Where the products are read: the blocks of qkv's rows, or q, k and v themselves.
  i64 inWidth = qkv ? qCols + 2 * kCols : 0;
  const float* qIn = qkv ? qkv : q;
  const float* kIn = qkv ? qkv + qCols : k;
  const float* vIn = qkv ? qkv + qCols + kCols : v;
  i64 qInStride = qkv ? inWidth : qCols, kvInStride = qkv ? inWidth : kCols;
  int half = headSize / 2;
  int qPairs = qCols / 2, kPairs = kCols / 2;
  int perRow = qPairs + kPairs + kCols;
  i64 total = (i64) rows * perRow;
  for (i64 e = blockIdx.x * (i64) blockDim.x + threadIdx.x; e < total;
       e += (i64) gridDim.x * blockDim.x) {
    int n = (int) (e / perRow);
    int r = (int) (e % perRow);
    if (r < qPairs + kPairs) {
      bool isQ = r < qPairs;
      int pair = isQ ? r : r - qPairs;
      int h = pair / half, i = pair % half;
      int col = h * headSize + i;
      float* x = isQ ? q : k;
      const float* in = isQ ? qIn + n * qInStride : kIn + n * kvInStride;
      const float* bias = isQ ? qBias : kBias;
      const DecodeLora& l = isQ ? lq : lk;
      i64 at = (i64) n * (isQ ? qCols : kCols) + col;
      float c = cosT[(i64) positions[n] * half + i];
      float sn = sinT[(i64) positions[n] * half + i];
      float a = in[col] + (bias ? bias[col] : 0.0f) + decode_lora(l, n, col);
      float b = in[col + half] + (bias ? bias[col + half] : 0.0f) + decode_lora(l, n, col + half);
      float ra = a * c - b * sn, rb = b * c + a * sn;
      x[at] = ra;
      x[at + half] = rb;
      if (!isQ) {
        i64 to = (i64) cacheRows[n] * kCols + col;
        decode_cache_store(kc, cache16, to, ra);
        decode_cache_store(kc, cache16, to + half, rb);
      }
    } else {
      int col = r - qPairs - kPairs;
      i64 at = (i64) n * kCols + col;
      float x = vIn[n * kvInStride + col] + (vBias ? vBias[col] : 0.0f) + decode_lora(lv, n, col);
      v[at] = x;
      decode_cache_store(vc, cache16, (i64) cacheRows[n] * kCols + col, x);
    }
  }
}

// out [rows, cols] = the cols columns of in [rows, inCols] from column first on.
extern "C" __global__ void copy_columns(float* out, const float* in, i64 total, int cols,
                                        int inCols, int first) {
  for (i64 e = blockIdx.x * (i64) blockDim.x + threadIdx.x; e < total;
       e += (i64) gridDim.x * blockDim.x) {
    i64 n = e / cols;
    out[e] = in[n * inCols + first + e % cols];
  }
}

// out = silu(gate) · up; out16, when not null, gets the same values rounded to bf16 (the copy the
// next product reads, written here instead of by a separate conversion).
extern "C" __global__ void swiglu(float* out, bf16* out16, const float* gate, const float* up,
                                  i64 n) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    float g = gate[i];
    float h = g / (1.0f + expf(-g)) * up[i];
    out[i] = h;
    if (out16 != nullptr) out16[i] = float_to_bf16(h);
  }
}

// swiglu of gate + gs · gu · gBᵀ and up + us · uu · uBᵀ [n / cols, cols]: the gate and up adapters'
// output terms (rank gr, ur; gu or uu null for none) added on the way, gate and up left as they
// are (a forward no backward reads: decoding). out16 as in swiglu.
extern "C" __global__ void swiglu_lora(float* out, bf16* out16, const float* gate, const float* up,
                                       i64 n, int cols, const float* gu, const float* gb, int gr,
                                       float gs, const float* uu, const float* ub, int ur,
                                       float us) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    i64 row = i / cols;
    int c = (int) (i % cols);
    float g = gate[i], u = up[i];
    if (gu != nullptr) {
      float s = 0;
      for (int r = 0; r < gr; r++) s += gu[row * gr + r] * gb[(i64) c * gr + r];
      g += gs * s;
    }
    if (uu != nullptr) {
      float s = 0;
      for (int r = 0; r < ur; r++) s += uu[row * ur + r] * ub[(i64) c * ur + r];
      u += us * s;
    }
    float h = g / (1.0f + expf(-g)) * u;
    out[i] = h;
    if (out16 != nullptr) out16[i] = float_to_bf16(h);
  }
}

// dgate16 and dup16, when not null, get bf16 copies of dgate and dup (as swiglu's out16).
extern "C" __global__ void swiglu_backward(float* dgate, float* dup, bf16* dgate16, bf16* dup16,
                                           const float* dout, const float* gate, const float* up,
                                           i64 n) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    double g = gate[i];
    double sigmoid = 1.0 / (1.0 + exp(-g));
    // d silu(g) / dg = σ(g) · (1 + g · (1 − σ(g)))
    float dg = (float) (dout[i] * up[i] * sigmoid * (1 + g * (1 - sigmoid)));
    float du = (float) (dout[i] * (g * sigmoid));
    dgate[i] = dg;
    dup[i] = du;
    if (dgate16 != nullptr) {
      dgate16[i] = float_to_bf16(dg);
      dup16[i] = float_to_bf16(du);
    }
  }
}

// out [n, cols] = table[ids[n], :]
template <typename T>
__device__ void embedding_rows(float* out, const T* table, const int* ids, i64 total, int cols) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < total; i += (i64) gridDim.x * blockDim.x) {
    i64 n = i / cols;
    out[i] = load_f(table + (i64) ids[n] * cols + i % cols);
  }
}

extern "C" __global__ void embedding(float* out, const float* table, const int* ids, i64 total,
                                     int cols) {
  embedding_rows(out, table, ids, total, cols);
}

extern "C" __global__ void embedding_bf16(float* out, const bf16* table, const int* ids,
                                          i64 total, int cols) {
  embedding_rows(out, table, ids, total, cols);
}

// dtable[ids[n], :] += dout[n, :]
extern "C" __global__ void embedding_backward(float* dtable, const float* dout, const int* ids,
                                              i64 total, int cols) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < total; i += (i64) gridDim.x * blockDim.x) {
    i64 n = i / cols;
    atomicAdd(&dtable[(i64) ids[n] * cols + i % cols], dout[i]);
  }
}

// dst[rows[i], :] = src[i, :]
template <typename T>
__device__ void scatter(T* dst, const int* rows, const float* src, i64 total, int cols) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < total; i += (i64) gridDim.x * blockDim.x) {
    i64 n = i / cols;
    store_f(dst + (i64) rows[n] * cols + i % cols, src[i]);
  }
}

extern "C" __global__ void scatter_rows(float* dst, const int* rows, const float* src, i64 total,
                                        int cols) {
  scatter(dst, rows, src, total, cols);
}

extern "C" __global__ void scatter_rows_bf16(bf16* dst, const int* rows, const float* src,
                                             i64 total, int cols) {
  scatter(dst, rows, src, total, cols);
}

// y [N, out] += scale · u · Bᵀ with u [N, r] = x [N, in] · Aᵀ saved for the backward pass;
// A [r, in], B [out, r] (fp32 LoRA tensors). Block (row n, chunk of LORA_COLUMNS outputs) of
// LORA_THREADS threads. phase 0 (few rows, decode): each block forms the row's r dot products
// (warp sums, then across warps; chunks repeat them, cheap there), the first chunk stores u, then
// the block updates its chunk of y. Many rows over wide outputs (training) run two launches
// instead, so x is read once: phase 1 (one chunk per row) only forms and stores u, phase 2 only
// reads u and updates y. Replaces two rank-r cuBLAS calls per projection.
#define LORA_MAX_RANK 64
#define LORA_THREADS 128
#define LORA_COLUMNS 512
extern "C" __global__ void lora_forward(float* y, float* u, const float* x, const float* a,
                                        const float* b, int in, int out, int rank, float scale,
                                        int phase) {
  __shared__ float partial[LORA_THREADS / 32][LORA_MAX_RANK];
  __shared__ float ur[LORA_MAX_RANK];
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  i64 n = blockIdx.x;
  if (phase == 2) {
    if (threadIdx.x < rank) ur[threadIdx.x] = u[n * rank + threadIdx.x];
  } else {
    const float* xr = x + n * in;
    for (int r = 0; r < rank; r++) {
      float s = 0;
      for (int i = threadIdx.x; i < in; i += LORA_THREADS) s += xr[i] * a[(i64) r * in + i];
      for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
      if (lane == 0) partial[warp][r] = s;
    }
    __syncthreads();
    if (threadIdx.x < rank) {
      float s = 0;
      for (int w = 0; w < LORA_THREADS / 32; w++) s += partial[w][threadIdx.x];
      ur[threadIdx.x] = s;
      if (blockIdx.y == 0) u[n * rank + threadIdx.x] = s;
    }
    if (phase == 1) return;
  }
  __syncthreads();
  float* yr = y + n * out;
  int end = min(out, (int) (blockIdx.y + 1) * LORA_COLUMNS);
  for (int o = blockIdx.y * LORA_COLUMNS + threadIdx.x; o < end; o += LORA_THREADS) {
    float s = 0;
    for (int r = 0; r < rank; r++) s += ur[r] * b[(i64) o * rank + r];
    yr[o] += scale * s;
  }
}

// The adapter's forward in two launches that each read their operands once: lora_down forms
// u [N, rank] = x [N, in] · Aᵀ with a warp per row, lora_up adds y [N, out] += scale · u · Bᵀ four
// outputs per thread (out a multiple of 4, rows 16-byte aligned). Block (column chunk, row) of
// lora_up; rows past gridDim.y loop.
extern "C" __global__ void lora_down(float* u, const float* x, const float* a, int rows, int in,
                                     int rank) {
  int lane = threadIdx.x & 31;
  i64 n = (i64) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (n >= rows) return;
  const float* xr = x + n * in;
  for (int r = 0; r < rank; r++) {
    const float* ar = a + (i64) r * in;
    float s = 0;
#pragma unroll 4
    for (int i = lane; i < in; i += 32) s += xr[i] * ar[i];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
    if (lane == 0) u[n * rank + r] = s;
  }
}

// lora_down for few rows (decode): a block of LORA_DOWN_THREADS per row, so a row's dot products
// spread over the whole block instead of one warp (a warp per row leaves most SMs idle there).
// vec4: in is a multiple of 4 and x, a are 16-byte aligned (float4 loads).
#define LORA_DOWN_THREADS 256
extern "C" __global__ void lora_down_rows(float* u, const float* x, const float* a, int in,
                                          int rank, int vec4) {
  __shared__ float partial[LORA_DOWN_THREADS / 32];
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  i64 n = blockIdx.x;
  const float* xr = x + n * in;
  for (int r = 0; r < rank; r++) {
    const float* ar = a + (i64) r * in;
    float s = 0;
    if (vec4) {
      const Float4* xq = reinterpret_cast<const Float4*>(xr);
      const Float4* aq = reinterpret_cast<const Float4*>(ar);
      for (int i = threadIdx.x; i < in / 4; i += LORA_DOWN_THREADS) {
        Float4 xv = xq[i], av = aq[i];
        s += xv.v[0] * av.v[0] + xv.v[1] * av.v[1] + xv.v[2] * av.v[2] + xv.v[3] * av.v[3];
      }
    } else {
      for (int i = threadIdx.x; i < in; i += LORA_DOWN_THREADS) s += xr[i] * ar[i];
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
    if (lane == 0) partial[warp] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
      float total = 0;
      for (int w = 0; w < LORA_DOWN_THREADS / 32; w++) total += partial[w];
      u[n * rank + r] = total;
    }
    __syncthreads();
  }
}

__device__ __forceinline__ void lora_up_columns(float* y, const float* u, const float* b,
                                                int rows, int out, int rank, float scale) {
  int o = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
  if (o >= out) return;
  for (i64 n = blockIdx.y; n < rows; n += gridDim.y) {
    Float4* yq = reinterpret_cast<Float4*>(y + n * out + o);
    Float4 acc = *yq;
#pragma unroll
    for (int e = 0; e < 4; e++) {
      float s = 0;
      for (int r = 0; r < rank; r++) s += u[n * rank + r] * b[(i64) (o + e) * rank + r];
      acc.v[e] += scale * s;
    }
    *yq = acc;
  }
}

extern "C" __global__ void lora_up(float* y, const float* u, const float* b, int rows, int out,
                                   int rank, float scale) {
  lora_up_columns(y, u, b, rows, out, rank, scale);
}

// Two or three lora_up's over the same rows in one launch (the adapters of projections that read
// one input, as q, k and v): blockIdx.z picks the adapter; the grid covers the widest output.
#define LORA_UP_SET(i) float *y##i, const float *u##i, const float *b##i, int out##i, int rank##i, float scale##i
extern "C" __global__ void lora_up_many(int rows, LORA_UP_SET(0), LORA_UP_SET(1), LORA_UP_SET(2)) {
  int z = blockIdx.z;
  lora_up_columns(z == 0 ? y0 : z == 1 ? y1 : y2, z == 0 ? u0 : z == 1 ? u1 : u2,
                  z == 0 ? b0 : z == 1 ? b1 : b2, rows, z == 0 ? out0 : z == 1 ? out1 : out2,
                  z == 0 ? rank0 : z == 1 ? rank1 : rank2,
                  z == 0 ? scale0 : z == 1 ? scale1 : scale2);
}

// The backward pass of a rank-1 adapter (y += s · u · Bᵀ, u = x · Aᵀ) in two passes, each reading
// its large operand once (four skinny cuBLAS products read dy twice). Block (chunk of
// LORA_BACKWARD_ROWS rows, chunk of LORA_BACKWARD_THREADS columns), a thread per column; sums over
// rows and columns leave each block through atomic adds.
#define LORA_BACKWARD_ROWS 64
#define LORA_BACKWARD_THREADS 256

// Pass 1 over dy [N, out]: du [N] += s · dy · B (du zeroed by the caller) and dB [out] += s · dyᵀ · u
// (when dB is not null).
extern "C" __global__ void lora_backward_dy(float* du, float* dB, const float* dy, const float* u,
                                            const float* b, int rows, int out, float scale) {
  __shared__ float partial[LORA_BACKWARD_THREADS / 32][LORA_BACKWARD_ROWS];
  __shared__ float ur[LORA_BACKWARD_ROWS];
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  i64 n0 = (i64) blockIdx.x * LORA_BACKWARD_ROWS;
  int count = (int) min((i64) LORA_BACKWARD_ROWS, rows - n0);
  int o = blockIdx.y * LORA_BACKWARD_THREADS + threadIdx.x;
  if (threadIdx.x < LORA_BACKWARD_ROWS) ur[threadIdx.x] = threadIdx.x < count ? u[n0 + threadIdx.x] : 0.0f;
  __syncthreads();
  float bo = o < out ? b[o] : 0.0f, column = 0;
  const float* d = dy + n0 * out + o;
  float rowPart[LORA_BACKWARD_ROWS];
#pragma unroll
  for (int r = 0; r < LORA_BACKWARD_ROWS; r++) {
    float v = (o < out && r < count) ? d[(i64) r * out] : 0.0f;
    rowPart[r] = v * bo;
    column += v * ur[r];
  }
  if (dB != nullptr && o < out) atomicAdd(dB + o, scale * column);
#pragma unroll
  for (int r = 0; r < LORA_BACKWARD_ROWS; r++) {
    float v = rowPart[r];
    for (int k = 16; k > 0; k >>= 1) v += __shfl_xor_sync(0xffffffff, v, k);
    if (lane == 0) partial[warp][r] = v;
  }
  __syncthreads();
  if (threadIdx.x < count) {
    float v = 0;
    for (int w = 0; w < LORA_BACKWARD_THREADS / 32; w++) v += partial[w][threadIdx.x];
    atomicAdd(du + n0 + threadIdx.x, scale * v);
  }
}

// Pass 2 over x [N, in]: dA [in] += duᵀ · x (when not null) and dx [N, in] += du · A (when not
// null).
extern "C" __global__ void lora_backward_x(float* dx, float* dA, const float* du, const float* x,
                                           const float* a, int rows, int in) {
  __shared__ float dur[LORA_BACKWARD_ROWS];
  i64 n0 = (i64) blockIdx.x * LORA_BACKWARD_ROWS;
  int count = (int) min((i64) LORA_BACKWARD_ROWS, rows - n0);
  int i = blockIdx.y * LORA_BACKWARD_THREADS + threadIdx.x;
  if (threadIdx.x < LORA_BACKWARD_ROWS) dur[threadIdx.x] = threadIdx.x < count ? du[n0 + threadIdx.x] : 0.0f;
  __syncthreads();
  if (i >= in) return;
  float ai = a[i], column = 0;
#pragma unroll 8
  for (int r = 0; r < count; r++) {
    i64 at = (n0 + r) * in + i;
    if (dA != nullptr) column += dur[r] * x[at];
    if (dx != nullptr) dx[at] += dur[r] * ai;
  }
  if (dA != nullptr) atomicAdd(dA + i, column);
}

// Causal grouped-query attention over a ragged batch, for prefill and decode alike (flash-decoding
// style: online softmax, no score buffer). Block (query t, key/value head kh and a chunk of its
// query heads, sequence s) of ATT_WARPS warps; warp w takes keys w, w + ATT_WARPS, ... (two at a
// time) and keeps a
// running max, sum and output per query head; the warps' partial results are merged at the end.
// A lane holds head dims lane + 32 i (i < D), so a key or value row is read coalesced once per
// warp and serves all H query heads of the chunk. seq = {queryStart, queryCount, keyStart,
// keyCount}, S ints each. Dynamic shared memory: ATT_WARPS · headsPerBlock · headSize floats.
#define ATT_WARPS 8
#define ATT_MAX_HEADS 8

// What a block of the per-query attention kernels (forward, backward pass 1) works on: block
// (query t, key/value head kh and its chunk of query heads, sequence blockIdx.z). False when t is
// past the sequence's queries (the grid covers the longest sequence).
// p0, np: the sequence's first np keys are rows p0 + j (a prompt's keys shared by its samples),
// later ones rows k0 + j (forward kernels only; training batches have np = 0).
struct QueryBlock {
  int t, q0, k0, visible, kh, h0, heads, p0, np;
  __device__ __forceinline__ int key_row(int j) const { return (j < np ? p0 : k0) + j; }
};

__device__ __forceinline__ bool query_block(QueryBlock& b, const int* seq, int sequences,
                                            int numHeads, int numKvHeads, int headsPerBlock) {
  int s = blockIdx.z;
  b.t = blockIdx.x;
  int nq = seq[sequences + s];
  if (b.t >= nq) return false;
  b.q0 = seq[s];
  b.k0 = seq[2 * sequences + s];
  b.visible = seq[3 * sequences + s] - nq + b.t + 1;  // causal: keys up to the query's own
  b.p0 = seq[4 * sequences + s];
  b.np = seq[5 * sequences + s];
  int group = numHeads / numKvHeads;
  int chunks = (group + headsPerBlock - 1) / headsPerBlock;
  b.kh = blockIdx.y / chunks;
  b.h0 = b.kh * group + (blockIdx.y % chunks) * headsPerBlock;
  b.heads = min(headsPerBlock, b.kh * group + group - b.h0);
  return true;
}

template <typename KV, int D, int H>
__device__ void attention_rows(float* out, float* lse, const float* q, const KV* k, const KV* v,
                               const int* seq, int sequences, int numHeads, int numKvHeads,
                               int headSize, int headsPerBlock, float scale) {
  extern __shared__ float part[];
  __shared__ float partMax[ATT_WARPS][ATT_MAX_HEADS];
  __shared__ float partSum[ATT_WARPS][ATT_MAX_HEADS];
  QueryBlock b;
  if (!query_block(b, seq, sequences, numHeads, numKvHeads, headsPerBlock)) return;
  int t = b.t, q0 = b.q0, visible = b.visible, kh = b.kh, h0 = b.h0, heads = b.heads;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int qCols = numHeads * headSize, kCols = numKvHeads * headSize;
  const float* qrow = q + (i64) (q0 + t) * qCols;
  float qr[H][D], acc[H][D], m[H], l[H];
#pragma unroll
  for (int g = 0; g < H; g++) {
    m[g] = -1.0f / 0.0f;
    l[g] = 0;
#pragma unroll
    for (int i = 0; i < D; i++) {
      int c = lane + 32 * i;
      qr[g][i] = g < heads && c < headSize ? qrow[(i64) (h0 + g) * headSize + c] * scale : 0.0f;
      acc[g][i] = 0;
    }
  }
  // Two keys per iteration (j and j + ATT_WARPS): their loads and warp sums overlap, and one
  // rescale of the running sums serves both.
  for (int j = warp; j < visible; j += 2 * ATT_WARPS) {
    int j2 = j + ATT_WARPS;
    bool second = j2 < visible;
    i64 row = b.key_row(j), row2 = b.key_row(second ? j2 : j);
    const KV* kr = k + row * kCols + (i64) kh * headSize;
    const KV* vr = v + row * kCols + (i64) kh * headSize;
    const KV* kr2 = k + row2 * kCols + (i64) kh * headSize;
    const KV* vr2 = v + row2 * kCols + (i64) kh * headSize;
    float kv[D], vv[D], kv2[D], vv2[D];
#pragma unroll
    for (int i = 0; i < D; i++) {
      int c = lane + 32 * i;
      kv[i] = c < headSize ? load_f(kr + c) : 0.0f;
      vv[i] = c < headSize ? load_f(vr + c) : 0.0f;
      kv2[i] = c < headSize ? load_f(kr2 + c) : 0.0f;
      vv2[i] = c < headSize ? load_f(vr2 + c) : 0.0f;
    }
#pragma unroll
    for (int g = 0; g < H; g++) {
      if (g < heads) {
        float dot = 0, dot2 = 0;
#pragma unroll
        for (int i = 0; i < D; i++) {
          dot += qr[g][i] * kv[i];
          dot2 += qr[g][i] * kv2[i];
        }
        for (int o = 16; o > 0; o >>= 1) {
          dot += __shfl_xor_sync(0xffffffff, dot, o);
          dot2 += __shfl_xor_sync(0xffffffff, dot2, o);
        }
        float mNew = fmax(m[g], second ? fmax(dot, dot2) : dot);
        float keep = expf(m[g] - mNew);
        float p = expf(dot - mNew);
        float p2 = second ? expf(dot2 - mNew) : 0.0f;
        l[g] = l[g] * keep + p + p2;
#pragma unroll
        for (int i = 0; i < D; i++) acc[g][i] = acc[g][i] * keep + p * vv[i] + p2 * vv2[i];
        m[g] = mNew;
      }
    }
  }
#pragma unroll
  for (int g = 0; g < H; g++) {
    if (g < heads) {
#pragma unroll
      for (int i = 0; i < D; i++) {
        int c = lane + 32 * i;
        if (c < headSize) part[(warp * headsPerBlock + g) * headSize + c] = acc[g][i];
      }
      if (lane == 0) {
        partMax[warp][g] = m[g];
        partSum[warp][g] = l[g];
      }
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < heads * headSize; e += blockDim.x) {
    int g = e / headSize, c = e % headSize;
    float top = -1.0f / 0.0f;
    for (int w = 0; w < ATT_WARPS; w++) top = fmax(top, partMax[w][g]);
    float sum = 0, o = 0;
    for (int w = 0; w < ATT_WARPS; w++) {
      if (partSum[w][g] > 0) {
        float f = expf(partMax[w][g] - top);
        sum += partSum[w][g] * f;
        o += part[(w * headsPerBlock + g) * headSize + c] * f;
      }
    }
    out[(i64) (q0 + t) * qCols + (i64) (h0 + g) * headSize + c] = o / sum;
    if (c == 0) lse[(i64) (q0 + t) * numHeads + h0 + g] = top + logf(sum);
  }
}

// The instantiations CudaOps launches: KV float32 or bf16 (a bf16 KV cache); D = ceil(headSize /
// 32) dims per lane, rounded up to 1, 2, 4 or 8; H = query heads per block (8, or 4 for D >= 4).
#define ATTENTION_ARGS(KV)                                                                      \
  float *out, float *lse, const float *q, const KV *k, const KV *v, const int *seq,             \
      int sequences, int numHeads, int numKvHeads, int headSize, int headsPerBlock, float scale
#define ATTENTION_CALL \
  out, lse, q, k, v, seq, sequences, numHeads, numKvHeads, headSize, headsPerBlock, scale
extern "C" __global__ void attention_f32_d1(ATTENTION_ARGS(float)) { attention_rows<float, 1, 8>(ATTENTION_CALL); }
extern "C" __global__ void attention_f32_d2(ATTENTION_ARGS(float)) { attention_rows<float, 2, 8>(ATTENTION_CALL); }
extern "C" __global__ void attention_f32_d4(ATTENTION_ARGS(float)) { attention_rows<float, 4, 4>(ATTENTION_CALL); }
extern "C" __global__ void attention_f32_d8(ATTENTION_ARGS(float)) { attention_rows<float, 8, 4>(ATTENTION_CALL); }
extern "C" __global__ void attention_bf16_d1(ATTENTION_ARGS(bf16)) { attention_rows<bf16, 1, 8>(ATTENTION_CALL); }
extern "C" __global__ void attention_bf16_d2(ATTENTION_ARGS(bf16)) { attention_rows<bf16, 2, 8>(ATTENTION_CALL); }
extern "C" __global__ void attention_bf16_d4(ATTENTION_ARGS(bf16)) { attention_rows<bf16, 4, 4>(ATTENTION_CALL); }
extern "C" __global__ void attention_bf16_d8(ATTENTION_ARGS(bf16)) { attention_rows<bf16, 8, 4>(ATTENTION_CALL); }

// 16 bytes from global to shared memory without passing through registers (cp.async, sm_80 on;
// a plain copy before), so that a warp can have a whole key tile and value tile in flight at once.
// cp_async_wait<N>: until at most N of this thread's committed groups are still pending.
__device__ __forceinline__ void cp_async16(void* shared, const void* global) {
#if __CUDA_ARCH__ >= 800
  unsigned to = (unsigned) __cvta_generic_to_shared(shared);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(to), "l"(global));
#else
  *reinterpret_cast<Bf16x8*>(shared) = *reinterpret_cast<const Bf16x8*>(global);
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

// The same attention over a bf16 KV cache with a lane per key instead of a warp per key (the
// decode path: a warp per key spends most of its time in the shuffles of each key's dot product).
// Block (query t, key/value head kh and its chunk of query heads, sequence) of blockDim.x / 32
// warps; warp w takes the 32-key tiles starting at keys 32 w, 32 (w + warps) and so on.
// Each tile's key and value rows are copied into the warp's part of shared memory asynchronously,
// with the next tile's copies issued before this tile is used when stages = 2 (stages · warps ·
// KEY_TILE_STAGE(HD) bf16 of dynamic shared memory): the loads of a tile are all in flight at
// once, instead of one value row after another. In a tile lane j scores key j (its row read 16
// bytes at a time from a padded row, so the lanes' reads do not share banks) against the block's
// H query heads (shared memory, read by broadcast); the tile's softmax update is one warp max and
// one warp sum per head; then the lanes hold head dims (HD / 32 each) and go through the tile's
// value rows. Warps merge as in attention_rows, through the same shared memory.
#define KEY_TILE_MAX_WARPS 8
#define KEY_TILE_ROW(HD) ((HD) + 8)
#define KEY_TILE_STAGE(HD) (32 * KEY_TILE_ROW(HD) + 32 * (HD))

template <int HD, int H>
__device__ void attention_key_tiles(float* out, float* lse, const float* q, const bf16* k,
                                    const bf16* v, const int* seq, int sequences, int numHeads,
                                    int numKvHeads, int headsPerBlock, float scale, int stages,
                                    bf16* out16) {
  constexpr int DL = HD / 32;      // head dims per lane in the value pass
  constexpr int CHUNKS = HD / 8;   // 16-byte pieces of a key or value row
  constexpr int KROW = KEY_TILE_ROW(HD);
  constexpr int STAGE = KEY_TILE_STAGE(HD);
  extern __shared__ Bf16x8 keyTileShared[];
  __shared__ Float4 qs[H][HD / 4];
  __shared__ float probs[KEY_TILE_MAX_WARPS][H][32];
  __shared__ float partMax[KEY_TILE_MAX_WARPS][H];
  __shared__ float partSum[KEY_TILE_MAX_WARPS][H];
  QueryBlock b;
  if (!query_block(b, seq, sequences, numHeads, numKvHeads, headsPerBlock)) return;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  int qCols = numHeads * HD, kCols = numKvHeads * HD;
  const bf16* kHead = k + (i64) b.kh * HD;
  const bf16* vHead = v + (i64) b.kh * HD;
  bf16* staged = reinterpret_cast<bf16*>(keyTileShared) + (i64) warp * stages * STAGE;
  // Issues the copies of the tile from key `base` (its visible keys) into stage s, as one group.
  auto stage = [&](int base, int s) {
    bf16* ks = staged + s * STAGE;
    bf16* vs = ks + 32 * KROW;
    for (int e = lane; e < 32 * CHUNKS; e += 32) {
      int r = e / CHUNKS, c = e % CHUNKS;
      if (base + r < b.visible) {
        i64 row = b.key_row(base + r);
        cp_async16(ks + r * KROW + c * 8, kHead + row * kCols + c * 8);
        cp_async16(vs + r * HD + c * 8, vHead + row * kCols + c * 8);
      }
    }
    cp_async_commit();
  };
  int first = warp * 32, stride = warps * 32;
  if (first < b.visible) stage(first, 0);
  const float* qrow = q + (i64) (b.q0 + b.t) * qCols + (i64) b.h0 * HD;
  for (int e = threadIdx.x; e < H * HD; e += blockDim.x) {
    qs[e / HD][e % HD / 4].v[e % 4] = e / HD < b.heads ? qrow[e] * scale : 0.0f;
  }
  __syncthreads();
  float m[H], l[H], acc[H][DL];
#pragma unroll
  for (int g = 0; g < H; g++) {
    m[g] = -1.0f / 0.0f;
    l[g] = 0;
#pragma unroll
    for (int i = 0; i < DL; i++) acc[g][i] = 0;
  }
  int s = 0;
  for (int base = first; base < b.visible; base += stride) {
    int next = base + stride;
    if (stages > 1 && next < b.visible) {
      stage(next, s ^ 1);  // that stage's tile was used up in the previous iteration
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncwarp();  // every lane's copies of this tile visible to the whole warp
    const bf16* ks = staged + s * STAGE;
    const bf16* vs = ks + 32 * KROW;
    int j = base + lane;
    bool valid = j < b.visible;
    float score[H];
#pragma unroll
    for (int g = 0; g < H; g++) score[g] = 0;
    if (valid) {
      const Bf16x8* kr = reinterpret_cast<const Bf16x8*>(ks + lane * KROW);
#pragma unroll
      for (int c = 0; c < CHUNKS; c++) {
        Bf16x8 words = kr[c];
        float kf[8];
#pragma unroll
        for (int e = 0; e < 4; e++) {
          kf[2 * e] = __uint_as_float(words.w[e] << 16);
          kf[2 * e + 1] = __uint_as_float(words.w[e] & 0xffff0000u);
        }
#pragma unroll
        for (int g = 0; g < H; g++) {
#pragma unroll
          for (int e = 0; e < 8; e++) score[g] += qs[g][2 * c + e / 4].v[e % 4] * kf[e];
        }
      }
    }
#pragma unroll
    for (int g = 0; g < H; g++) {
      float x = valid ? score[g] : -1.0f / 0.0f;
      float top = x;
      for (int o = 16; o > 0; o >>= 1) top = fmaxf(top, __shfl_xor_sync(0xffffffff, top, o));
      float mNew = fmaxf(m[g], top);  // finite: lane 0's key is visible
      float p = valid ? expf(x - mNew) : 0.0f;
      float sum = p;
      for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffff, sum, o);
      float keep = expf(m[g] - mNew);
      l[g] = l[g] * keep + sum;
#pragma unroll
      for (int i = 0; i < DL; i++) acc[g][i] *= keep;
      m[g] = mNew;
      probs[warp][g][lane] = p;
    }
    __syncwarp();
    int count = min(32, b.visible - base);
    const bf16* vLane = vs + lane * DL;
#pragma unroll 8
    for (int jj = 0; jj < count; jj++) {
      float vf[DL];
#pragma unroll
      for (int i = 0; i < DL; i += 2) {
        unsigned w = reinterpret_cast<const unsigned*>(vLane + jj * HD)[i / 2];
        vf[i] = __uint_as_float(w << 16);
        vf[i + 1] = __uint_as_float(w & 0xffff0000u);
      }
#pragma unroll
      for (int g = 0; g < H; g++) {
        float p = probs[warp][g][jj];
#pragma unroll
        for (int i = 0; i < DL; i++) acc[g][i] += p * vf[i];
      }
    }
    __syncwarp();  // this stage read by every lane before it is refilled
    if (stages == 1 && next < b.visible) stage(next, 0);
    if (stages > 1) s ^= 1;
  }
  // The warps' partial outputs go where their tiles were (every copy has been waited for).
  __syncthreads();
  float* partOut = reinterpret_cast<float*>(keyTileShared);  // [warps][H][HD]
#pragma unroll
  for (int g = 0; g < H; g++) {
#pragma unroll
    for (int i = 0; i < DL; i++) partOut[(warp * H + g) * HD + lane * DL + i] = acc[g][i];
    if (lane == 0) {
      partMax[warp][g] = m[g];
      partSum[warp][g] = l[g];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < b.heads * HD; e += blockDim.x) {
    int g = e / HD, c = e % HD;
    float top = -1.0f / 0.0f;
    for (int w = 0; w < warps; w++) top = fmaxf(top, partMax[w][g]);
    float sum = 0, o = 0;
    for (int w = 0; w < warps; w++) {
      if (partSum[w][g] > 0) {
        float f = expf(partMax[w][g] - top);
        sum += partSum[w][g] * f;
        o += partOut[(w * H + g) * HD + c] * f;
      }
    }
    i64 at = (i64) (b.q0 + b.t) * qCols + (i64) (b.h0 + g) * HD + c;
    out[at] = o / sum;
    if (out16) out16[at] = float_to_bf16(o / sum);  // the copy o_proj's product reads
    if (c == 0) lse[(i64) (b.q0 + b.t) * numHeads + b.h0 + g] = top + logf(sum);
  }
}

// Instantiations: head size 64 with up to 4 or 8 query heads per block, 128 with up to 4.
// They take attention_rows' arguments (headSize, equal to HD, unused), the stage count, and out16:
// when not null, out rounded to bf16 as well.
#define KEY_TILE_CALL \
  out, lse, q, k, v, seq, sequences, numHeads, numKvHeads, headsPerBlock, scale, stages, out16
extern "C" __global__ void attention_key_tiles_64x4(ATTENTION_ARGS(bf16), int stages, bf16* out16) { attention_key_tiles<64, 4>(KEY_TILE_CALL); }
extern "C" __global__ void attention_key_tiles_64x8(ATTENTION_ARGS(bf16), int stages, bf16* out16) { attention_key_tiles<64, 8>(KEY_TILE_CALL); }
extern "C" __global__ void attention_key_tiles_128x4(ATTENTION_ARGS(bf16), int stages, bf16* out16) { attention_key_tiles<128, 4>(KEY_TILE_CALL); }

// The decode attention on tensor cores (sm_80 on): the key-tile kernel's blocks, warps, tiles
// and staging, with each tile's scores S = Q Kᵀ [heads, 32 keys] and its value update P V made by
// mma.sync m16n8k16 (bf16 inputs, float accumulation) instead of a lane per key and a lane per
// head dim. The block's query heads (up to 8) are the rows of the A operand (rows 8..15 zero), so
// Q and the probabilities P are rounded to bf16 for the products, as K and V are stored. Fragment
// layouts are PTX's for m16n8k16: lane = 4 · group + quad; A holds rows group and group + 8,
// columns 2 · quad (+1) and +8; B columns (here keys for S, head dims for P V) group, rows 2 ·
// quad (+1) and +8; C rows group and group + 8, columns 2 · quad (+1). Rows of K and V are padded
// by 8 bf16 in shared memory so that the lanes' 32-bit reads fall in different banks.
#define MMA_ROW(HD) ((HD) + 8)
#define MMA_STAGE(HD) (2 * 32 * MMA_ROW(HD))

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
  return (unsigned) float_to_bf16(lo) | ((unsigned) float_to_bf16(hi) << 16);
}

// d += a · b for one m16n8k16 tile.
__device__ __forceinline__ void mma_bf16(float (&d)[4], const unsigned (&a)[4], unsigned b0,
                                         unsigned b1) {
#if __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

template <int HD>
__device__ void attention_mma_tiles(float* out, float* lse, const float* q, const bf16* k,
                                    const bf16* v, const int* seq, int sequences, int numHeads,
                                    int numKvHeads, int headsPerBlock, float scale, int stages,
                                    bf16* out16) {
  constexpr int ROW = MMA_ROW(HD);
  constexpr int STAGE = MMA_STAGE(HD);
  constexpr int CHUNKS = HD / 8;  // 16-byte pieces of a row; also the n-tiles of P V
  constexpr int KSTEPS = HD / 16;  // k-steps of Q Kᵀ
  extern __shared__ Bf16x8 mmaShared[];
  __shared__ float qs[8][HD];
  __shared__ float partMax[KEY_TILE_MAX_WARPS][8];
  __shared__ float partSum[KEY_TILE_MAX_WARPS][8];
  QueryBlock b;
  if (!query_block(b, seq, sequences, numHeads, numKvHeads, headsPerBlock)) return;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  int group = lane >> 2, quad = lane & 3;
  int qCols = numHeads * HD, kCols = numKvHeads * HD;
  const bf16* kHead = k + (i64) b.kh * HD;
  const bf16* vHead = v + (i64) b.kh * HD;
  bf16* staged = reinterpret_cast<bf16*>(mmaShared) + (i64) warp * stages * STAGE;
  auto stage = [&](int base, int s) {
    bf16* ks = staged + s * STAGE;
    bf16* vs = ks + 32 * ROW;
    for (int e = lane; e < 32 * CHUNKS; e += 32) {
      int r = e / CHUNKS, c = e % CHUNKS;
      if (base + r < b.visible) {
        i64 row = b.key_row(base + r);
        cp_async16(ks + r * ROW + c * 8, kHead + row * kCols + c * 8);
        cp_async16(vs + r * ROW + c * 8, vHead + row * kCols + c * 8);
      } else {  // past the keys: zero values (their P is 0, and 0 · NaN would not be)
        *reinterpret_cast<Bf16x8*>(vs + r * ROW + c * 8) = Bf16x8{{0u, 0u, 0u, 0u}};
      }
    }
    cp_async_commit();
  };
  int first = warp * 32, stride = warps * 32;
  if (first < b.visible) stage(first, 0);
  const float* qrow = q + (i64) (b.q0 + b.t) * qCols + (i64) b.h0 * HD;
  for (int e = threadIdx.x; e < 8 * HD; e += blockDim.x) {
    qs[e / HD][e % HD] = e / HD < b.heads ? qrow[e] * scale : 0.0f;
  }
  __syncthreads();
  // Q as A fragments, one per k-step (rows 8..15 zero).
  unsigned qa[KSTEPS][4];
#pragma unroll
  for (int kk = 0; kk < KSTEPS; kk++) {
    int c = kk * 16 + 2 * quad;
    qa[kk][0] = pack_bf16(qs[group][c], qs[group][c + 1]);
    qa[kk][1] = 0;
    qa[kk][2] = pack_bf16(qs[group][c + 8], qs[group][c + 9]);
    qa[kk][3] = 0;
  }
  // This lane's row (query head `group`): running max and sum, and its output columns
  // 8 n + 2 quad (+1) in acc[n][0..1] (acc[n][2..3], rows 8..15, stay zero).
  float m = -1.0f / 0.0f, l = 0;
  float acc[CHUNKS][4];
#pragma unroll
  for (int n = 0; n < CHUNKS; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0;
  int s = 0;
  for (int base = first; base < b.visible; base += stride) {
    int next = base + stride;
    if (stages > 1 && next < b.visible) {
      stage(next, s ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncwarp();
    const bf16* ks = staged + s * STAGE;
    const bf16* vs = ks + 32 * ROW;
    // S [16 heads, 32 keys] as four n-tiles of 8 keys.
    float sc[4][4];
#pragma unroll
    for (int n = 0; n < 4; n++) {
      sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0;
      const bf16* kr = ks + (n * 8 + group) * ROW + 2 * quad;
#pragma unroll
      for (int kk = 0; kk < KSTEPS; kk++) {
        unsigned b0 = *reinterpret_cast<const unsigned*>(kr + kk * 16);
        unsigned b1 = *reinterpret_cast<const unsigned*>(kr + kk * 16 + 8);
        mma_bf16(sc[n], qa[kk], b0, b1);
      }
    }
    // Softmax update of row `group` over the tile's visible keys (a quad shares a row).
    float top = -1.0f / 0.0f;
#pragma unroll
    for (int n = 0; n < 4; n++) {
#pragma unroll
      for (int e = 0; e < 2; e++) {
        int j = base + n * 8 + 2 * quad + e;
        sc[n][e] = j < b.visible ? sc[n][e] : -1.0f / 0.0f;
        top = fmaxf(top, sc[n][e]);
      }
    }
    top = fmaxf(top, __shfl_xor_sync(0xffffffff, top, 1));
    top = fmaxf(top, __shfl_xor_sync(0xffffffff, top, 2));
    float mNew = fmaxf(m, top);  // finite: the tile's first key is visible
    float keep = expf(m - mNew);
    float sum = 0;
#pragma unroll
    for (int n = 0; n < 4; n++) {
#pragma unroll
      for (int e = 0; e < 2; e++) {
        sc[n][e] = expf(sc[n][e] - mNew);
        sum += sc[n][e];
      }
    }
    sum += __shfl_xor_sync(0xffffffff, sum, 1);
    sum += __shfl_xor_sync(0xffffffff, sum, 2);
    l = l * keep + sum;
    m = mNew;
#pragma unroll
    for (int n = 0; n < CHUNKS; n++) {
      acc[n][0] *= keep;
      acc[n][1] *= keep;
    }
    // O += P V: P as A fragments over two k-steps of 16 keys (rows 8..15 zero); V's rows for
    // keys 2 quad (+1) and +8 of the step, column 8 n + group.
#pragma unroll
    for (int kk = 0; kk < 2; kk++) {
      unsigned pa[4] = {pack_bf16(sc[2 * kk][0], sc[2 * kk][1]), 0u,
                        pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]), 0u};
      const bf16* vr = vs + (kk * 16 + 2 * quad) * ROW + group;
#pragma unroll
      for (int n = 0; n < CHUNKS; n++) {
        const bf16* vc = vr + n * 8;
        unsigned b0 = (unsigned) vc[0] | ((unsigned) vc[ROW] << 16);
        unsigned b1 = (unsigned) vc[8 * ROW] | ((unsigned) vc[9 * ROW] << 16);
        mma_bf16(acc[n], pa, b0, b1);
      }
    }
    __syncwarp();  // this stage read by every lane before it is refilled
    if (stages == 1 && next < b.visible) stage(next, 0);
    if (stages > 1) s ^= 1;
  }
  __syncthreads();
  float* partOut = reinterpret_cast<float*>(mmaShared);  // [warps][8][HD]
  if (group < b.heads) {
#pragma unroll
    for (int n = 0; n < CHUNKS; n++) {
      partOut[(warp * 8 + group) * HD + n * 8 + 2 * quad] = acc[n][0];
      partOut[(warp * 8 + group) * HD + n * 8 + 2 * quad + 1] = acc[n][1];
    }
    if (quad == 0) {
      partMax[warp][group] = m;
      partSum[warp][group] = l;
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < b.heads * HD; e += blockDim.x) {
    int g = e / HD, c = e % HD;
    float top = -1.0f / 0.0f;
    for (int w = 0; w < warps; w++) top = fmaxf(top, partMax[w][g]);
    float sum = 0, o = 0;
    for (int w = 0; w < warps; w++) {
      if (partSum[w][g] > 0) {
        float f = expf(partMax[w][g] - top);
        sum += partSum[w][g] * f;
        o += partOut[(w * 8 + g) * HD + c] * f;
      }
    }
    i64 at = (i64) (b.q0 + b.t) * qCols + (i64) (b.h0 + g) * HD + c;
    out[at] = o / sum;
    if (out16) out16[at] = float_to_bf16(o / sum);  // the copy o_proj's product reads
    if (c == 0) lse[(i64) (b.q0 + b.t) * numHeads + b.h0 + g] = top + logf(sum);
  }
}

extern "C" __global__ void attention_mma_64(ATTENTION_ARGS(bf16), int stages, bf16* out16) { attention_mma_tiles<64>(KEY_TILE_CALL); }
extern "C" __global__ void attention_mma_128(ATTENTION_ARGS(bf16), int stages, bf16* out16) { attention_mma_tiles<128>(KEY_TILE_CALL); }

// Decode attention for bundles of sequences that share a prompt's cached keys (the samples of
// one prompt, -Drl.sampler.sharePrompts): one block per (bundle, key/value head) stages the
// shared keys once for all its members, then each member's own keys, on tensor cores as
// attention_mma_tiles does. The A operand's 16 rows are the bundle's query heads: row
// m · group + g is member m's head kh · group + g (up to 16 / group members). The bundle's keys in
// order: the prompt's np keys at cache rows p0 + j (every row sees them), then each member's own
// keys (only its rows see them). bundles [4 · sequences]: first sequence, members (0: no bundle,
// the block exits), p0, np; one query per sequence (decode).
template <int HD>
__device__ void attention_mma_bundles(float* out, float* lse, const float* q, const bf16* k,
                                      const bf16* v, const int* seq, int sequences,
                                      int numHeads, int numKvHeads, float scale, int stages,
                                      bf16* out16, const int* bundles) {
  constexpr int ROW = MMA_ROW(HD);
  constexpr int STAGE = MMA_STAGE(HD);
  constexpr int CHUNKS = HD / 8;
  constexpr int KSTEPS = HD / 16;
  extern __shared__ Bf16x8 mmaShared[];
  __shared__ float qs[16][HD];
  __shared__ float partMax[KEY_TILE_MAX_WARPS][16];
  __shared__ float partSum[KEY_TILE_MAX_WARPS][16];
  __shared__ int ownEnd[16];   // bundle key index where member m's own keys end
  __shared__ int ownShift[16];  // cache row of member m's own bundle key j: ownShift[m] + j
  int first = bundles[blockIdx.z], members = bundles[sequences + blockIdx.z];
  if (members == 0) return;
  int p0 = bundles[2 * sequences + blockIdx.z], np = bundles[3 * sequences + blockIdx.z];
  int group = numHeads / numKvHeads, kh = blockIdx.y, rows = members * group;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  int g8 = lane >> 2, quad = lane & 3;
  int qCols = numHeads * HD, kCols = numKvHeads * HD;
  if (threadIdx.x == 0) {
    int end = np;
    for (int m = 0; m < members; m++) {
      int sq = first + m;
      ownShift[m] = seq[2 * sequences + sq] + np - end;  // key start + np - bundle index
      end += seq[3 * sequences + sq] - np;
      ownEnd[m] = end;
    }
  }
  for (int e = threadIdx.x; e < 16 * HD; e += blockDim.x) {
    int r = e / HD, c = e % HD;
    qs[r][c] = r < rows ? q[(i64) seq[first + r / group] * qCols +
                            (i64) (kh * group + r % group) * HD + c] * scale
                        : 0.0f;
  }
  __syncthreads();
  int total = ownEnd[members - 1];
  // The member whose own key bundle key j is (j >= np), and that key's cache row.
  auto owner = [&](int j) {
    int m = 0;
    while (m < members - 1 && j >= ownEnd[m]) m++;
    return m;
  };
  auto keyRow = [&](int j) { return j < np ? p0 + j : ownShift[owner(j)] + j; };
  const bf16* kHead = k + (i64) kh * HD;
  const bf16* vHead = v + (i64) kh * HD;
  bf16* staged = reinterpret_cast<bf16*>(mmaShared) + (i64) warp * stages * STAGE;
  auto stage = [&](int base, int s) {
    bf16* ks = staged + s * STAGE;
    bf16* vs = ks + 32 * ROW;
    int myRow = base + lane < total ? keyRow(base + lane) : 0;  // key base + lane's cache row
    for (int e = lane; e < 32 * CHUNKS; e += 32) {
      int r = e / CHUNKS, c = e % CHUNKS;
      i64 row = __shfl_sync(0xffffffff, myRow, r);
      if (base + r < total) {
        cp_async16(ks + r * ROW + c * 8, kHead + row * kCols + c * 8);
        cp_async16(vs + r * ROW + c * 8, vHead + row * kCols + c * 8);
      } else {  // past the keys: zero values (their P is 0, and 0 · NaN would not be)
        *reinterpret_cast<Bf16x8*>(vs + r * ROW + c * 8) = Bf16x8{{0u, 0u, 0u, 0u}};
      }
    }
    cp_async_commit();
  };
  int begin = warp * 32, stride = warps * 32;
  if (begin < total) stage(begin, 0);
  // Q as A fragments: rows g8 and g8 + 8.
  unsigned qa[KSTEPS][4];
#pragma unroll
  for (int kk = 0; kk < KSTEPS; kk++) {
    int c = kk * 16 + 2 * quad;
    qa[kk][0] = pack_bf16(qs[g8][c], qs[g8][c + 1]);
    qa[kk][1] = pack_bf16(qs[g8 + 8][c], qs[g8 + 8][c + 1]);
    qa[kk][2] = pack_bf16(qs[g8][c + 8], qs[g8][c + 9]);
    qa[kk][3] = pack_bf16(qs[g8 + 8][c + 8], qs[g8 + 8][c + 9]);
  }
  // This lane's rows g8 (i = 0) and g8 + 8 (i = 1): their members (-1: no query), running max
  // and sum, and output columns 8 n + 2 quad (+1) in acc[n][2 i], acc[n][2 i + 1].
  int member[2] = {g8 < rows ? g8 / group : -1, g8 + 8 < rows ? (g8 + 8) / group : -1};
  float m[2] = {-1.0f / 0.0f, -1.0f / 0.0f}, l[2] = {0, 0};
  float acc[CHUNKS][4];
#pragma unroll
  for (int n = 0; n < CHUNKS; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0;
  int s = 0;
  for (int base = begin; base < total; base += stride) {
    int next = base + stride;
    if (stages > 1 && next < total) {
      stage(next, s ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncwarp();
    const bf16* ks = staged + s * STAGE;
    const bf16* vs = ks + 32 * ROW;
    float sc[4][4];
#pragma unroll
    for (int n = 0; n < 4; n++) {
      sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0;
      const bf16* kr = ks + (n * 8 + g8) * ROW + 2 * quad;
#pragma unroll
      for (int kk = 0; kk < KSTEPS; kk++) {
        unsigned b0 = *reinterpret_cast<const unsigned*>(kr + kk * 16);
        unsigned b1 = *reinterpret_cast<const unsigned*>(kr + kk * 16 + 8);
        mma_bf16(sc[n], qa[kk], b0, b1);
      }
    }
    // Mask: a prompt key is every row's, an own key only its member's rows'.
    float top[2] = {-1.0f / 0.0f, -1.0f / 0.0f};
#pragma unroll
    for (int n = 0; n < 4; n++) {
#pragma unroll
      for (int e = 0; e < 2; e++) {
        int j = base + n * 8 + 2 * quad + e;
        int who = j < np ? -2 : j < total ? owner(j) : -3;
#pragma unroll
        for (int i = 0; i < 2; i++) {
          bool seen = member[i] >= 0 && (who == -2 || who == member[i]);
          sc[n][2 * i + e] = seen ? sc[n][2 * i + e] : -1.0f / 0.0f;
          top[i] = fmaxf(top[i], sc[n][2 * i + e]);
        }
      }
    }
    float keep[2], sum[2] = {0, 0};
#pragma unroll
    for (int i = 0; i < 2; i++) {
      top[i] = fmaxf(top[i], __shfl_xor_sync(0xffffffff, top[i], 1));
      top[i] = fmaxf(top[i], __shfl_xor_sync(0xffffffff, top[i], 2));
      float mNew = fmaxf(m[i], top[i]);
      bool none = mNew == -1.0f / 0.0f;  // no key of this row seen yet
      keep[i] = none ? 1.0f : expf(m[i] - mNew);
#pragma unroll
      for (int n = 0; n < 4; n++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
          // rounded as the product reads it, so that the normaliser sums what P V adds
          float pr = none ? 0.0f : bf16_to_float(float_to_bf16(expf(sc[n][2 * i + e] - mNew)));
          sc[n][2 * i + e] = pr;
          sum[i] += pr;
        }
      }
      sum[i] += __shfl_xor_sync(0xffffffff, sum[i], 1);
      sum[i] += __shfl_xor_sync(0xffffffff, sum[i], 2);
      l[i] = l[i] * keep[i] + sum[i];
      m[i] = mNew;
    }
#pragma unroll
    for (int n = 0; n < CHUNKS; n++) {
      acc[n][0] *= keep[0];
      acc[n][1] *= keep[0];
      acc[n][2] *= keep[1];
      acc[n][3] *= keep[1];
    }
#pragma unroll
    for (int kk = 0; kk < 2; kk++) {
      unsigned pa[4] = {pack_bf16(sc[2 * kk][0], sc[2 * kk][1]),
                        pack_bf16(sc[2 * kk][2], sc[2 * kk][3]),
                        pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                        pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
      const bf16* vr = vs + (kk * 16 + 2 * quad) * ROW + g8;
#pragma unroll
      for (int n = 0; n < CHUNKS; n++) {
        const bf16* vc = vr + n * 8;
        unsigned b0 = (unsigned) vc[0] | ((unsigned) vc[ROW] << 16);
        unsigned b1 = (unsigned) vc[8 * ROW] | ((unsigned) vc[9 * ROW] << 16);
        mma_bf16(acc[n], pa, b0, b1);
      }
    }
    __syncwarp();  // this stage read by every lane before it is refilled
    if (stages == 1 && next < total) stage(next, 0);
    if (stages > 1) s ^= 1;
  }
  __syncthreads();
  float* partOut = reinterpret_cast<float*>(mmaShared);  // [warps][16][HD]
#pragma unroll
  for (int i = 0; i < 2; i++) {
    int r = g8 + 8 * i;
    if (member[i] < 0) continue;
#pragma unroll
    for (int n = 0; n < CHUNKS; n++) {
      partOut[(warp * 16 + r) * HD + n * 8 + 2 * quad] = acc[n][2 * i];
      partOut[(warp * 16 + r) * HD + n * 8 + 2 * quad + 1] = acc[n][2 * i + 1];
    }
    if (quad == 0) {
      partMax[warp][r] = m[i];
      partSum[warp][r] = l[i];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < rows * HD; e += blockDim.x) {
    int r = e / HD, c = e % HD;
    float best = -1.0f / 0.0f;
    for (int w = 0; w < warps; w++) best = fmaxf(best, partMax[w][r]);
    float sum = 0, o = 0;
    for (int w = 0; w < warps; w++) {
      if (partSum[w][r] > 0) {
        float f = expf(partMax[w][r] - best);
        sum += partSum[w][r] * f;
        o += partOut[(w * 16 + r) * HD + c] * f;
      }
    }
    int head = kh * group + r % group;
    i64 at = (i64) seq[first + r / group] * qCols + (i64) head * HD + c;
    out[at] = o / sum;
    if (out16) out16[at] = float_to_bf16(o / sum);  // the copy o_proj's product reads
    if (c == 0) lse[(i64) seq[first + r / group] * numHeads + head] = best + logf(sum);
  }
}

#define BUNDLE_ARGS                                                                            \
  float *out, float *lse, const float *q, const bf16 *k, const bf16 *v, const int *seq,        \
      int sequences, int numHeads, int numKvHeads, float scale, int stages, bf16 *out16,         \
      const int *bundles
#define BUNDLE_CALL \
  out, lse, q, k, v, seq, sequences, numHeads, numKvHeads, scale, stages, out16, bundles
extern "C" __global__ void attention_mma_bundles_64(BUNDLE_ARGS) { attention_mma_bundles<64>(BUNDLE_CALL); }
extern "C" __global__ void attention_mma_bundles_128(BUNDLE_ARGS) { attention_mma_bundles<128>(BUNDLE_CALL); }

// Backward of attention in two passes that need no atomics, recomputing the probabilities from
// the saved log-sum-exps: with P = softmax(scale · q kᵀ), dP = dO vᵀ, D = rowsum(dO ∘ O) and
// dS = P ∘ (dP − D): dq = scale · dS k, dk = scale · dSᵀ q, dv = Pᵀ dO.
//
// Pass 1, attention_backward_q: laid out like the forward (block per query row, key/value head and
// chunk of its query heads; warps over keys, two per iteration). Accumulates dq and stores D
// [Nq, NH] for pass 2.
template <int D, int H>
__device__ void attention_backward_q(float* dq, float* delta, const float* dout, const float* out,
                                     const float* lse, const float* q, const float* k,
                                     const float* v, const int* seq, int sequences, int numHeads,
                                     int numKvHeads, int headSize, int headsPerBlock,
                                     float scale) {
  extern __shared__ float part[];
  QueryBlock b;
  if (!query_block(b, seq, sequences, numHeads, numKvHeads, headsPerBlock)) return;
  int t = b.t, q0 = b.q0, k0 = b.k0, visible = b.visible, kh = b.kh, h0 = b.h0, heads = b.heads;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int qCols = numHeads * headSize, kCols = numKvHeads * headSize;
  i64 row = (i64) (q0 + t) * qCols;
  float qr[H][D], dor[H][D], acc[H][D], dl[H], ls[H];
#pragma unroll
  for (int g = 0; g < H; g++) {
    float d = 0;
#pragma unroll
    for (int i = 0; i < D; i++) {
      int c = lane + 32 * i;
      bool in = g < heads && c < headSize;
      i64 at = row + (i64) (h0 + g) * headSize + c;
      qr[g][i] = in ? q[at] : 0.0f;
      dor[g][i] = in ? dout[at] : 0.0f;
      d += in ? dor[g][i] * out[at] : 0.0f;
      acc[g][i] = 0;
    }
    for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffff, d, o);
    dl[g] = d;
    ls[g] = g < heads ? lse[(i64) (q0 + t) * numHeads + h0 + g] : 0.0f;
  }
  for (int j = warp; j < visible; j += ATT_WARPS) {
    const float* kr = k + (i64) (k0 + j) * kCols + (i64) kh * headSize;
    const float* vr = v + (i64) (k0 + j) * kCols + (i64) kh * headSize;
    float kv[D], vv[D];
#pragma unroll
    for (int i = 0; i < D; i++) {
      int c = lane + 32 * i;
      kv[i] = c < headSize ? kr[c] : 0.0f;
      vv[i] = c < headSize ? vr[c] : 0.0f;
    }
#pragma unroll
    for (int g = 0; g < H; g++) {
      if (g < heads) {
        float dot = 0, dp = 0;
#pragma unroll
        for (int i = 0; i < D; i++) {
          dot += qr[g][i] * kv[i];
          dp += dor[g][i] * vv[i];
        }
        for (int o = 16; o > 0; o >>= 1) {
          dot += __shfl_xor_sync(0xffffffff, dot, o);
          dp += __shfl_xor_sync(0xffffffff, dp, o);
        }
        float ds = expf(dot * scale - ls[g]) * (dp - dl[g]);
#pragma unroll
        for (int i = 0; i < D; i++) acc[g][i] += ds * kv[i];
      }
    }
  }
#pragma unroll
  for (int g = 0; g < H; g++) {
    if (g < heads) {
#pragma unroll
      for (int i = 0; i < D; i++) {
        int c = lane + 32 * i;
        if (c < headSize) part[(warp * headsPerBlock + g) * headSize + c] = acc[g][i];
      }
      if (warp == 0 && lane == 0) delta[(i64) (q0 + t) * numHeads + h0 + g] = dl[g];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < heads * headSize; e += blockDim.x) {
    int g = e / headSize, c = e % headSize;
    float sum = 0;
    for (int w = 0; w < ATT_WARPS; w++) sum += part[(w * headsPerBlock + g) * headSize + c];
    dq[row + (i64) (h0 + g) * headSize + c] += scale * sum;
  }
}

// Pass 2, attention_backward_kv: block per (key j, key/value head kh, sequence s); warps take the
// queries that see key j, lanes the head dims, and walk every query head of the group. dk and dv
// of the block's key accumulate in registers, merged across warps at the end (one atomic add per
// element and block, instead of one per element, query and head before).
// Dynamic shared memory: 2 · ATT_WARPS · headSize floats.
template <int D>
__device__ void attention_backward_kv(float* dk, float* dv, const float* delta, const float* dout,
                                      const float* lse, const float* q, const float* k,
                                      const float* v, const int* seq, int sequences, int numHeads,
                                      int numKvHeads, int headSize, float scale) {
  extern __shared__ float part[];
  int s = blockIdx.z, j = blockIdx.x, kh = blockIdx.y;
  int nk = seq[3 * sequences + s];
  if (j >= nk) return;
  int q0 = seq[s], nq = seq[sequences + s], k0 = seq[2 * sequences + s];
  int group = numHeads / numKvHeads;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int qCols = numHeads * headSize, kCols = numKvHeads * headSize;
  i64 keyAt = (i64) (k0 + j) * kCols + (i64) kh * headSize;
  float kv[D], vv[D], dkAcc[D], dvAcc[D];
#pragma unroll
  for (int i = 0; i < D; i++) {
    int c = lane + 32 * i;
    kv[i] = c < headSize ? k[keyAt + c] : 0.0f;
    vv[i] = c < headSize ? v[keyAt + c] : 0.0f;
    dkAcc[i] = 0;
    dvAcc[i] = 0;
  }
  // query t sees key j when nk − nq + t + 1 > j
  int first = max(0, j - (nk - nq));
  for (int t = first + warp; t < nq; t += ATT_WARPS) {
    for (int h = kh * group; h < kh * group + group; h++) {
      i64 at = (i64) (q0 + t) * qCols + (i64) h * headSize;
      float qv[D], dov[D];
      float dot = 0, dp = 0;
#pragma unroll
      for (int i = 0; i < D; i++) {
        int c = lane + 32 * i;
        qv[i] = c < headSize ? q[at + c] : 0.0f;
        dov[i] = c < headSize ? dout[at + c] : 0.0f;
        dot += qv[i] * kv[i];
        dp += dov[i] * vv[i];
      }
      for (int o = 16; o > 0; o >>= 1) {
        dot += __shfl_xor_sync(0xffffffff, dot, o);
        dp += __shfl_xor_sync(0xffffffff, dp, o);
      }
      i64 stat = (i64) (q0 + t) * numHeads + h;
      float p = expf(dot * scale - lse[stat]);
      float ds = p * (dp - delta[stat]);
#pragma unroll
      for (int i = 0; i < D; i++) {
        dvAcc[i] += p * dov[i];
        dkAcc[i] += ds * qv[i];
      }
    }
  }
#pragma unroll
  for (int i = 0; i < D; i++) {
    int c = lane + 32 * i;
    if (c < headSize) {
      part[warp * headSize + c] = dkAcc[i];
      part[(ATT_WARPS + warp) * headSize + c] = dvAcc[i];
    }
  }
  __syncthreads();
  for (int c = threadIdx.x; c < headSize; c += blockDim.x) {
    float sk = 0, sv = 0;
    for (int w = 0; w < ATT_WARPS; w++) {
      sk += part[w * headSize + c];
      sv += part[(ATT_WARPS + w) * headSize + c];
    }
    // Atomic: two sequences' key ranges may share rows (Ops allows it; the device check's decode
    // case does), and their blocks then add to the same row.
    atomicAdd(&dk[keyAt + c], scale * sk);
    atomicAdd(&dv[keyAt + c], sv);
  }
}

#define BACKWARD_Q_ARGS                                                                       \
  float *dq, float *delta, const float *dout, const float *out, const float *lse,             \
      const float *q, const float *k, const float *v, const int *seq, int sequences,          \
      int numHeads, int numKvHeads, int headSize, int headsPerBlock, float scale
#define BACKWARD_Q_CALL \
  dq, delta, dout, out, lse, q, k, v, seq, sequences, numHeads, numKvHeads, headSize, headsPerBlock, scale
#define BACKWARD_KV_ARGS                                                                      \
  float *dk, float *dv, const float *delta, const float *dout, const float *lse,              \
      const float *q, const float *k, const float *v, const int *seq, int sequences,          \
      int numHeads, int numKvHeads, int headSize, float scale
#define BACKWARD_KV_CALL \
  dk, dv, delta, dout, lse, q, k, v, seq, sequences, numHeads, numKvHeads, headSize, scale
extern "C" __global__ void attention_backward_q_d1(BACKWARD_Q_ARGS) { attention_backward_q<1, 8>(BACKWARD_Q_CALL); }
extern "C" __global__ void attention_backward_q_d2(BACKWARD_Q_ARGS) { attention_backward_q<2, 8>(BACKWARD_Q_CALL); }
extern "C" __global__ void attention_backward_q_d4(BACKWARD_Q_ARGS) { attention_backward_q<4, 4>(BACKWARD_Q_CALL); }
extern "C" __global__ void attention_backward_q_d8(BACKWARD_Q_ARGS) { attention_backward_q<8, 4>(BACKWARD_Q_CALL); }
extern "C" __global__ void attention_backward_kv_d1(BACKWARD_KV_ARGS) { attention_backward_kv<1>(BACKWARD_KV_CALL); }
extern "C" __global__ void attention_backward_kv_d2(BACKWARD_KV_ARGS) { attention_backward_kv<2>(BACKWARD_KV_CALL); }
extern "C" __global__ void attention_backward_kv_d4(BACKWARD_KV_ARGS) { attention_backward_kv<4>(BACKWARD_KV_CALL); }
extern "C" __global__ void attention_backward_kv_d8(BACKWARD_KV_ARGS) { attention_backward_kv<8>(BACKWARD_KV_CALL); }

// ---- attention through batched products (prefill and training) ----
// CudaOps gathers a chunk of sequences into padded blocks, one per (sequence, key/value head)
// b = sl · KVH + kh: queries (or dO) as [B, G, Tq, D] (the G query heads of the group stacked, so
// one product serves the group), keys and values as [B, Tk, D], zero beyond a sequence's rows.
// cuBLAS forms scores [B, G·Tq, Tk] and the products with them; these kernels gather, mask and
// normalise, and scatter back. seq = {queryStart, queryCount, keyStart, keyCount}, S ints each;
// s0 is the chunk's first sequence. E is the element type of the padded blocks (bf16 in reduced
// precision, else float).

// What row r of a padded [B, G, T] block layout is: sequence s, key/value head kh, group head g,
// row t.
struct PaddedRow {
  int s, kh, g, t;
};

__device__ __forceinline__ PaddedRow padded_row(i64 r, int s0, int numKvHeads, int group, int rows) {
  PaddedRow p;
  p.t = (int) (r % rows);
  i64 bg = r / rows;
  p.g = (int) (bg % group);
  i64 b = bg / group;
  p.kh = (int) (b % numKvHeads);
  p.s = s0 + (int) (b / numKvHeads);
  return p;
}

// Warps of a grid-stride loop over rows: the first row of this warp, and the step.
#define WARP_ROWS_START ((blockIdx.x * (i64) blockDim.x + threadIdx.x) >> 5)
#define WARP_ROWS_STEP (((i64) gridDim.x * blockDim.x) >> 5)

// dst [B, group, rows, D] = the rows of src [N, KVH · group · D] that sequence s owns from
// seq[field · S + s] on (field 0: queries, 2: keys), zero past its count seq[(field + 1) · S + s].
// A warp per padded row: its place is worked out once, and the lanes copy the D contiguous values.
template <typename T, typename E>
__device__ void pack_rows(E* dst, const T* src, const int* seq, int sequences, int s0,
                          int field, int group, int numKvHeads, int rows, int headSize,
                          i64 totalRows) {
  int lane = threadIdx.x & 31;
  i64 width = (i64) numKvHeads * group * headSize;
  for (i64 r = WARP_ROWS_START; r < totalRows; r += WARP_ROWS_STEP) {
    PaddedRow p = padded_row(r, s0, numKvHeads, group, rows);
    int start = seq[field * sequences + p.s], count = seq[(field + 1) * sequences + p.s];
    E* out = dst + r * headSize;
    if (p.t < count) {
      const T* in = src + (start + p.t) * width + (i64) (p.kh * group + p.g) * headSize;
      for (int d = lane; d < headSize; d += 32) store_f(out + d, load_f(in + d));
    } else {
      for (int d = lane; d < headSize; d += 32) store_f(out + d, 0.0f);
    }
  }
}

#define PACK_ARGS(T, E) E* dst, const T* src, const int* seq, int sequences, int s0, int field, \
    int group, int numKvHeads, int rows, int headSize, i64 totalRows
#define PACK_CALL dst, src, seq, sequences, s0, field, group, numKvHeads, rows, headSize, totalRows
extern "C" __global__ void pack_rows_f32(PACK_ARGS(float, float)) { pack_rows(PACK_CALL); }
extern "C" __global__ void pack_rows_f32_bf16(PACK_ARGS(float, bf16)) { pack_rows(PACK_CALL); }
extern "C" __global__ void pack_rows_bf16(PACK_ARGS(bf16, bf16)) { pack_rows(PACK_CALL); }

// The inverse of pack_rows for float32 results, a warp per padded row: mode 0 stores, 1 adds,
// 2 adds atomically (key rows that several sequences share).
extern "C" __global__ void unpack_rows(float* dst, const float* src, const int* seq, int sequences,
                                       int s0, int field, int group, int numKvHeads, int rows,
                                       int headSize, i64 totalRows, int mode) {
  int lane = threadIdx.x & 31;
  i64 width = (i64) numKvHeads * group * headSize;
  for (i64 r = WARP_ROWS_START; r < totalRows; r += WARP_ROWS_STEP) {
    PaddedRow p = padded_row(r, s0, numKvHeads, group, rows);
    int start = seq[field * sequences + p.s], count = seq[(field + 1) * sequences + p.s];
    if (p.t >= count) continue;
    float* out = dst + (start + p.t) * width + (i64) (p.kh * group + p.g) * headSize;
    const float* in = src + r * headSize;
    for (int d = lane; d < headSize; d += 32) {
      if (mode == 0) out[d] = in[d];
      else if (mode == 1) out[d] += in[d];
      else atomicAdd(out + d, in[d]);
    }
  }
}

// log Σ_j exp(row[j]) over a row of n values for one warp (-inf for n = 0): the one-pass running
// maximum and double sum of row_logsumexp, reduced over the lanes. Every lane gets the result.
__device__ float warp_logsumexp(const float* row, int n) {
  int lane = threadIdx.x & 31;
  float m = -1.0f / 0.0f;
  double sum = 0;
  for (int j = lane; j < n; j += 32) {
    float x = row[j];
    if (x > m) {
      sum = sum * expf(m - x) + 1.0;
      m = x;
    } else {
      sum += expf(x - m);
    }
  }
  float top = m;
  for (int o = 16; o > 0; o >>= 1) top = fmaxf(top, __shfl_xor_sync(0xffffffff, top, o));
  double total = sum == 0 ? 0 : sum * exp((double) m - top);
  for (int o = 16; o > 0; o >>= 1) total += __shfl_xor_sync(0xffffffff, total, o);
  return (float) (top + log(total));
}

// Row r of scaled scores [B · G · Tq, Tk] → probabilities P (E) over the keys query t sees
// (causal; zero elsewhere and on padding rows), and lse [N, NH] of the real rows. A warp per row
// (rows of a few hundred keys: a block per row spent its time synchronising).
template <typename E>
__device__ void softmax_rows(E* probs, float* lse, const float* scores, const int* seq,
                             int sequences, int s0, int group, int numKvHeads, int queries,
                             int keys, i64 totalRows) {
  int lane = threadIdx.x & 31;
  for (i64 r = WARP_ROWS_START; r < totalRows; r += WARP_ROWS_STEP) {
    PaddedRow p = padded_row(r, s0, numKvHeads, group, queries);
    int nq = seq[sequences + p.s];
    int visible = p.t < nq ? seq[3 * sequences + p.s] - nq + p.t + 1 : 0;
    const float* row = scores + r * keys;
    E* out = probs + r * keys;
    float rowLse = warp_logsumexp(row, visible);
    for (int j = lane; j < keys; j += 32) {
      store_f(out + j, j < visible ? expf(row[j] - rowLse) : 0.0f);
    }
    if (visible > 0 && lane == 0) {
      int numHeads = numKvHeads * group;
      lse[(i64) (seq[p.s] + p.t) * numHeads + p.kh * group + p.g] = rowLse;
    }
  }
}

#define SOFTMAX_ARGS(E) E* probs, float* lse, const float* scores, const int* seq, int sequences, \
    int s0, int group, int numKvHeads, int queries, int keys, i64 totalRows
#define SOFTMAX_CALL probs, lse, scores, seq, sequences, s0, group, numKvHeads, queries, keys, \
    totalRows
extern "C" __global__ void softmax_rows_f32(SOFTMAX_ARGS(float)) { softmax_rows(SOFTMAX_CALL); }
extern "C" __global__ void softmax_rows_bf16(SOFTMAX_ARGS(bf16)) { softmax_rows(SOFTMAX_CALL); }

// delta [B · G · Tq] = rowsum(dO ∘ O) of each real (query, head) row, 0 on padding rows: a warp
// per row.
extern "C" __global__ void attention_delta(float* delta, const float* dout, const float* out,
                                           const int* seq, int sequences, int s0, int group,
                                           int numKvHeads, int queries, int headSize, i64 rows) {
  int lane = threadIdx.x & 31;
  i64 r = (blockIdx.x * (i64) blockDim.x + threadIdx.x) >> 5;
  if (r >= rows) return;
  PaddedRow p = padded_row(r, s0, numKvHeads, group, queries);
  float sum = 0;
  if (p.t < seq[sequences + p.s]) {
    i64 at = (seq[p.s] + p.t) * (i64) numKvHeads * group * headSize + (i64) (p.kh * group + p.g) * headSize;
    for (int d = lane; d < headSize; d += 32) sum += dout[at + d] * out[at + d];
  }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffff, sum, o);
  if (lane == 0) delta[r] = sum;
}

// From scaled scores and dP = dO · Vᵀ [B · G · Tq, Tk]: P = exp(score − lse) and the raw-score
// gradient dS = scale · P ∘ (dP − delta), both E, zero where masked or padded. A warp per row, so
// the row's sequence, lse and delta are looked up once.
template <typename E>
__device__ void softmax_backward(E* probs, E* dscores, const float* scores, const float* dprobs,
                                 const float* delta, const float* lse, const int* seq,
                                 int sequences, int s0, int group, int numKvHeads, int queries,
                                 int keys, float scale, i64 totalRows) {
  int lane = threadIdx.x & 31;
  for (i64 r = WARP_ROWS_START; r < totalRows; r += WARP_ROWS_STEP) {
    PaddedRow p = padded_row(r, s0, numKvHeads, group, queries);
    int nq = seq[sequences + p.s];
    int visible = p.t < nq ? seq[3 * sequences + p.s] - nq + p.t + 1 : 0;
    float rowLse = visible > 0
        ? lse[(i64) (seq[p.s] + p.t) * numKvHeads * group + p.kh * group + p.g] : 0.0f;
    float rowDelta = delta[r];
    const float* sr = scores + r * keys;
    const float* dr = dprobs + r * keys;
    E* pr = probs + r * keys;
    E* gr = dscores + r * keys;
    for (int j = lane; j < keys; j += 32) {
      float prob = 0, ds = 0;
      if (j < visible) {
        prob = expf(sr[j] - rowLse);
        ds = scale * prob * (dr[j] - rowDelta);
      }
      store_f(pr + j, prob);
      store_f(gr + j, ds);
    }
  }
}

#define SOFTMAX_BACKWARD_ARGS(E) E* probs, E* dscores, const float* scores, const float* dprobs, \
    const float* delta, const float* lse, const int* seq, int sequences, int s0, int group, \
    int numKvHeads, int queries, int keys, float scale, i64 totalRows
#define SOFTMAX_BACKWARD_CALL probs, dscores, scores, dprobs, delta, lse, seq, sequences, s0, \
    group, numKvHeads, queries, keys, scale, totalRows
extern "C" __global__ void softmax_backward_f32(SOFTMAX_BACKWARD_ARGS(float)) {
  softmax_backward(SOFTMAX_BACKWARD_CALL);
}
extern "C" __global__ void softmax_backward_bf16(SOFTMAX_BACKWARD_ARGS(bf16)) {
  softmax_backward(SOFTMAX_BACKWARD_CALL);
}

#define HEAD_THREADS 1024

// Per row of logits [rows, V]: out[n] = logits[n, target] − logsumexp(logits[n, :]); 0 where
// target < 0. One block of HEAD_THREADS per row.
extern "C" __global__ void target_logprobs(float* out, const float* logits, const int* targets,
                                           int vocab) {
  __shared__ double scratch[32];
  int n = blockIdx.x;
  int target = targets[n];
  if (target < 0) {
    if (threadIdx.x == 0) out[n] = 0;
    return;
  }
  const float* row = logits + (i64) n * vocab;
  double lse = row_logsumexp(row, vocab, scratch);
  if (threadIdx.x == 0) out[n] = (float) (row[target] - lse);
}

// d logprob / d raw logit = g · (1[v = target] − p_v) / T with g = dlogprob[n] (0 where target <
// 0), from logits [rows, V] into grad [rows, V] (G: float, in place allowed, or bf16 for a product
// with a bf16 head). One block of HEAD_THREADS per row.
template <typename G>
__device__ void head_backward(G* grad, const float* logits, const float* dlogprob,
                              const int* targets, int vocab, float invT) {
  __shared__ double scratch[32];
  int n = blockIdx.x;
  int target = targets[n];
  const float* row = logits + (i64) n * vocab;
  G* out = grad + (i64) n * vocab;
  float g = target < 0 ? 0.0f : dlogprob[n];
  if (g == 0) {
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) store_f(out + j, 0.0f);
    return;
  }
  float lse = (float) row_logsumexp(row, vocab, scratch);
  float scale = -g * invT;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
    float d = scale * expf(row[j] - lse);
    if (j == target) d += g * invT;
    store_f(out + j, d);
  }
}

extern "C" __global__ void target_logprobs_backward(float* grad, const float* logits,
                                                    const float* dlogprob, const int* targets,
                                                    int vocab, float invT) {
  head_backward(grad, logits, dlogprob, targets, vocab, invT);
}

extern "C" __global__ void target_logprobs_backward_bf16(bf16* grad, const float* logits,
                                                         const float* dlogprob, const int* targets,
                                                         int vocab, float invT) {
  head_backward(grad, logits, dlogprob, targets, vocab, invT);
}

// One AdamW step; c1, c2 are the bias corrections 1 − β^step.
extern "C" __global__ void adamw(float* param, const float* grad, float* m, float* v, i64 n,
                                 float gradScale, float lr, float beta1, float beta2, float eps,
                                 float weightDecay, double c1, double c2) {
  for (i64 i = blockIdx.x * (i64) blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
    double g = (double) grad[i] * gradScale;
    float mi = (float) (beta1 * m[i] + (1 - beta1) * g);
    float vi = (float) (beta2 * v[i] + (1 - beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    double update = (mi / c1) / (sqrt(vi / c2) + eps);
    float p = param[i];
    param[i] = (float) (p - lr * weightDecay * p - lr * update);
  }
}

// One token per row of raw logits [rows, V], the function of HostSampling.sample (each
// probability by a float exponential, summed in double: single-precision exp is several times
// cheaper than double over a 150k vocabulary, and moves the sums by ~1e-7): logprob under
// softmax(logits · invT) over the whole vocabulary; greedy (first maximum) where uniform < 0,
// else the first id whose cumulative probability, in id order, exceeds the uniform draw. One
// block of SAMPLE_BLOCK threads per row, every read coalesced: one pass finds the maximum and the
// normaliser; the draw is then located by narrowing, 32 warp segments of the vocabulary, 32
// sub-segments of the chosen one, and a warp scan over the chosen sub-segment 32 ids at a time.
// Only tokens and logprobs go back to the host.
#define SAMPLE_BLOCK 1024
#define SAMPLE_WARPS (SAMPLE_BLOCK / 32)

// Warp-wide inclusive prefix sum.
__device__ __forceinline__ double warp_scan(double x, int lane) {
  for (int o = 1; o < 32; o <<= 1) {
    double y = __shfl_up_sync(0xffffffff, x, o);
    if (lane >= o) x += y;
  }
  return x;
}

// Probability mass of ids begin ... end - 1 for one warp (lanes strided, summed in double), and the
// last id in it with probability > 0 (-1 if none); both in every lane.
__device__ double warp_mass(const float* z, int begin, int end, float t, float logSum, int lane,
                            int* lastPositive) {
  double mass = 0;
  int last = -1;
  for (int v = begin + lane; v < end; v += 32) {
    float p = expf(z[v] * t - logSum);
    mass += p;
    if (p > 0) last = v;
  }
  for (int o = 16; o > 0; o >>= 1) {
    mass += __shfl_xor_sync(0xffffffff, mass, o);
    last = max(last, __shfl_xor_sync(0xffffffff, last, o));
  }
  *lastPositive = last;
  return mass;
}

extern "C" __global__ void sample_rows(const float* logits, int vocab, const double* invT,
                                       const double* uniform, int* tokens, double* logprobs) {
  __shared__ double scratch[32];
  __shared__ double prefix[SAMPLE_WARPS + 1];
  __shared__ int lastOf[SAMPLE_WARPS];
  __shared__ int bestIndex[32];
  __shared__ int chosen, found;
  __shared__ double before;
  int row = blockIdx.x;
  const float* z = logits + (i64) row * vocab;
  float t = (float) invT[row];
  double u = uniform[row];
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // Pass 1: argmax of the raw logits (first index on ties; ids rise within a thread) and a
  // running sum of exp(z · t − m) rescaled whenever the maximum m moves.
  float best = -1.0f / 0.0f, m = -1.0f / 0.0f;
  int bestAt = 0x7fffffff;
  double sum = 0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    float x = z[v];
    if (x > best) {
      float y = x * t;
      sum = sum * expf(m - y) + 1.0;
      m = y;
      best = x;
      bestAt = v;
    } else {
      sum += expf(x * t - m);
    }
  }
  float top = best;
  int topIndex = bestAt;
  for (int o = 16; o > 0; o >>= 1) {
    float ov = __shfl_xor_sync(0xffffffff, top, o);
    int oi = __shfl_xor_sync(0xffffffff, topIndex, o);
    if (ov > top || (ov == top && oi < topIndex)) {
      top = ov;
      topIndex = oi;
    }
  }
  if (lane == 0) {
    scratch[warp] = top;
    bestIndex[warp] = topIndex;
  }
  __syncthreads();
  top = (float) scratch[0];
  topIndex = bestIndex[0];
  for (int w = 1; w < SAMPLE_WARPS; w++) {
    float wv = (float) scratch[w];
    if (wv > top || (wv == top && bestIndex[w] < topIndex)) {
      top = wv;
      topIndex = bestIndex[w];
    }
  }
  float topScaled = top * t;
  __syncthreads();
  double total = block_sum(sum == 0 ? 0.0 : sum * exp((double) m - topScaled), scratch);
  double logSumExact = topScaled + log(total);
  float logSum = (float) logSumExact;
  if (u < 0) {
    if (threadIdx.x == 0) {
      tokens[row] = topIndex;
      logprobs[row] = (double) z[topIndex] * t - logSumExact;
    }
    return;
  }
  // Narrow the draw down: a segment per warp, then sub-segments of the chosen segment.
  int span = vocab;
  int base = 0;
  double below = 0;
  int fallback = -1;
  for (int level = 0; level < 2; level++) {
    int piece = ((span + SAMPLE_WARPS - 1) / SAMPLE_WARPS + 31) / 32 * 32;
    int begin = min(base + warp * piece, base + span), end = min(begin + piece, base + span);
    int last;
    double mass = warp_mass(z, begin, end, t, logSum, lane, &last);
    if (lane == 0) {
      prefix[warp + 1] = mass;
      lastOf[warp] = last;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double c = below;
      int pick = -1, lastAny = -1;
      for (int w = 0; w < SAMPLE_WARPS; w++) {
        if (lastOf[w] >= 0) lastAny = lastOf[w];
        if (pick < 0 && u < c + prefix[w + 1]) {
          pick = w;
          before = c;
        }
        c += prefix[w + 1];
      }
      chosen = pick;
      found = lastAny;  // where rounding leaves the total just under the draw
    }
    __syncthreads();
    if (chosen < 0) {
      fallback = found;
      break;
    }
    below = before;
    base = base + chosen * piece;
    span = min(piece, vocab - base);
    __syncthreads();
  }
  if (fallback < 0) {
    // The chosen sub-segment, 32 ids at a time by warp 0: the first id whose cumulative
    // probability exceeds the draw.
    if (warp == 0) {
      double c = below;
      int pick = -1, lastPositive = -1;
      for (int v0 = base; v0 < base + span && pick < 0; v0 += 32) {
        int v = v0 + lane;
        double p = v < base + span ? (double) expf(z[v] * t - logSum) : 0.0;
        double inclusive = c + warp_scan(p, lane);
        unsigned over = __ballot_sync(0xffffffff, inclusive > u && v < base + span);
        unsigned positive = __ballot_sync(0xffffffff, p > 0);
        if (positive) lastPositive = v0 + 31 - __clz(positive);
        if (over) pick = v0 + __ffs(over) - 1;
        c = __shfl_sync(0xffffffff, inclusive, 31);
      }
      if (lane == 0) found = pick >= 0 ? pick : lastPositive;
    }
    __syncthreads();
    fallback = found;
  }
  if (threadIdx.x == 0) {
    int token = fallback < 0 ? topIndex : fallback;
    tokens[row] = token;
    logprobs[row] = (double) z[token] * t - logSumExact;
  }
}
