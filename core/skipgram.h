#pragma once
// Word2Vec's skip-gram with negative sampling (Mikolov et al. 2013) as one layer: each sample is a
// (centre, context) pair of token ids; the layer holds the input vectors (the word vectors, what
// `shardnet neighbours` and the word2vec export read) and the output vectors, draws `negatives`
// noise words per sample from the unigram distribution raised to `power`, and puts out 1 + K
// logits: the context's score u_context . v_centre first, then the noise words'. Trained with
// [sigmoid_cross_entropy] against class 0 (convert skipgram's labels), that is SGNS's loss
// -log s(u_o . v_c) - sum_k log s(-u_k . v_c).
//
// The noise words of a sample are drawn from a stream keyed by (seed, epoch, the sample's row), so
// every rank count draws the same ones. The distribution comes from the training data's /counts
// and is kept as a buffer (checkpointed, so `test` and a resumed run use the training one).
#include <vector>

#include "core/layer.h"

namespace shardnet {

class SkipGram : public Layer {
 public:
  SkipGram(std::string name, int64_t vocab, int64_t dim, int64_t negatives, float power);
  std::string type() const override { return "skipgram"; }
  Shape setup(const Shape& input) override;
  // word2vec.c's start: input vectors uniform in +-0.5 / dim, output vectors zero.
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override { return {&input_vectors_, &output_vectors_}; }
  std::vector<Buffer*> buffers() override { return {&noise_}; }
  std::string describe() const override;
  void check_input_data(const DataDescription& data) const override;
  int64_t input_vocab() const override { return vocab_; }
  // Takes the noise distribution from the data's word counts, unless it holds one already.
  void adopt_data(const DataDescription& data) override;

  const Tensor& word_vectors() const { return input_vectors_.value; }
  int64_t vocab() const { return vocab_; }

 private:
  int64_t checked_id(float id, int64_t sample) const;
  void draw_noise(const Tensor& x);  // fills ids_ with each sample's context and noise words

  int64_t vocab_, dim_, negatives_;
  float power_;
  Param input_vectors_, output_vectors_;
  Buffer noise_;                        // (vocab) the noise distribution (all zero: uniform)
  std::vector<double> cumulative_;      // of noise_, rebuilt for each batch
  std::vector<int32_t> centres_, ids_;  // per sample: its centre; its context and noise words
};

}  // namespace shardnet
