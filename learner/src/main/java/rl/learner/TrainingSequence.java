package rl.learner;

/**
 * One sequence to train on: prompt and completion tokens, what the sampler recorded for the
 * completion, and the sequence's advantage.
 *
 * @param tokens prompt followed by completion
 * @param promptLength how many of {@code tokens} are prompt
 * @param samplerLogprobs the sampler's logprob of each completion token
 * @param advantage the completion's advantage (or, for SFT, unused)
 */
public record TrainingSequence(
    int[] tokens, int promptLength, float[] samplerLogprobs, double advantage) {
  public TrainingSequence {
    if (promptLength < 1 || promptLength >= tokens.length) {
      throw new IllegalArgumentException(
          "a training sequence needs at least one prompt and one completion token; got "
              + tokens.length
              + " tokens with prompt length "
              + promptLength);
    }
    if (samplerLogprobs != null && samplerLogprobs.length != tokens.length - promptLength) {
      throw new IllegalArgumentException(
          samplerLogprobs.length
              + " sampler logprobs for "
              + (tokens.length - promptLength)
              + " completion tokens");
    }
  }

  public int completionLength() {
    return tokens.length - promptLength;
  }
}
