#include "core/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/background_task.h"
#include "core/shard_sampler.h"

namespace shardnet {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Reads the rows of `step` into `batch` and records which rows and epoch they are.
void read_step(BatchSource& source, const ShardSampler& sampler, int64_t epoch, int64_t step, Batch& batch) {
  const auto rows = sampler.rows(step);
  source.read(rows, batch);
  batch.rows.assign(rows.begin(), rows.end());
  batch.epoch = epoch;
}
}  // namespace

namespace {
// Mirrors every image row of `x` (samples of shape (C, H, width)) left-right, in place.
void flip_images(Tensor& x, int64_t width) {
  const int64_t rows = x.numel() / width;
  for (int64_t r = 0; r < rows; ++r) std::reverse(x.data() + r * width, x.data() + (r + 1) * width);
}
}  // namespace

namespace {
void check_flip_average(const Net& net) {
  if (net.input_shape().size() != 3) {
    throw std::invalid_argument("flip averaging needs image inputs (channels, height, width), the model takes " +
                                shape_string(net.input_shape()));
  }
}

// Calls fn(batch) for this rank's share of `source` in batches. In exact mode (grain > 0) the
// shards and batches are whole grains, so that every grain (the last one of the data set may be
// short) is one call of the same shape at any rank count.
template <class Fn>
void for_each_evaluation_batch(BatchSource& source, int64_t batch_size, int64_t grain, Collective& collective,
                               Fn&& fn) {
  int64_t first = 0, last = 0;
  if (grain > 0) {
    shard_range((source.size() + grain - 1) / grain, collective.rank(), collective.world_size(), first, last);
    first = std::min(first * grain, source.size());
    last = std::min(last * grain, source.size());
    batch_size = std::max(grain, batch_size / grain * grain);
  } else {
    shard_range(source.size(), collective.rank(), collective.world_size(), first, last);
  }
  Batch batch;
  std::vector<int64_t> rows;
  for (int64_t begin = first; begin < last; begin += batch_size) {
    const int64_t end = std::min(last, begin + batch_size);
    rows.resize(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) rows[i - begin] = i;
    source.read(rows, batch);
    batch.rows = rows;
    fn(batch);
  }
}

// The net's evaluation output for `batch`, averaged with that of the mirrored images when asked.
// Leaves batch.data mirrored after a flip average.
const Tensor& evaluation_output(Net& net, Batch& batch, bool flip_average, Tensor& scratch) {
  if (!flip_average) return net.forward(batch, Mode::kEval);
  scratch = net.forward(batch, Mode::kEval);
  flip_images(batch.data, net.input_shape().back());
  const Tensor& mirrored = net.forward(batch, Mode::kEval);
  for (int64_t i = 0; i < scratch.numel(); ++i) scratch[i] = 0.5f * (scratch[i] + mirrored[i]);
  flip_images(batch.data, net.input_shape().back());
  return scratch;
}

// Softmax of each row of `logits` added into `sum` (rows of `classes`).
void add_probabilities(const Tensor& logits, int64_t classes, Tensor& sum) {
  for (int64_t i = 0; i < logits.rows(); ++i) {
    const float* z = logits.data() + i * classes;
    float* out = sum.data() + i * classes;
    const float top = *std::max_element(z, z + classes);
    double total = 0.0;
    for (int64_t j = 0; j < classes; ++j) total += std::exp(static_cast<double>(z[j] - top));
    for (int64_t j = 0; j < classes; ++j)
      out[j] += static_cast<float>(std::exp(static_cast<double>(z[j] - top)) / total);
  }
}
}  // namespace

LossStats evaluate(Net& net, BatchSource& source, int64_t batch_size, Collective& collective, bool flip_average) {
  if (flip_average) check_flip_average(net);
  LossStats total;
  Tensor scratch;
  for_each_evaluation_batch(source, batch_size, net.grain(), collective, [&](Batch& batch) {
    if (!flip_average) {
      total.add(net.forward_loss(batch, Mode::kEval));
      return;
    }
    total.add(net.loss()->forward(evaluation_output(net, batch, true, scratch), batch));
  });
  return sum_over_ranks(total, collective);
}

LossStats evaluate_ensemble(std::span<Net* const> members, BatchSource& source, int64_t batch_size,
                            Collective& collective, bool flip_average) {
  if (members.empty()) throw std::invalid_argument("an ensemble needs at least one member");
  Net& first = *members.front();
  for (Net* member : members) {
    if (flip_average) check_flip_average(*member);
    if (member->input_shape() != first.input_shape() || member->output_shape() != first.output_shape()) {
      throw std::invalid_argument("ensemble members differ: input " + shape_string(member->input_shape()) + " output " +
                                  shape_string(member->output_shape()) + " vs input " +
                                  shape_string(first.input_shape()) + " output " + shape_string(first.output_shape()));
    }
  }
  const bool probabilities = first.loss()->type() == "softmax_cross_entropy";
  const int64_t outputs = shape_numel(first.output_shape());
  const float share = 1.0f / static_cast<float>(members.size());
  LossStats total;
  Tensor scratch, average;
  for_each_evaluation_batch(source, batch_size, first.grain(), collective, [&](Batch& batch) {
    Shape shape = first.output_shape();
    shape.insert(shape.begin(), batch.size());
    average.reshape(shape);
    average.zero();
    for (Net* member : members) {
      const Tensor& out = evaluation_output(*member, batch, flip_average, scratch);
      if (probabilities) {
        add_probabilities(out, outputs, average);
      } else {
        for (int64_t i = 0; i < out.numel(); ++i) average[i] += out[i];
      }
    }
    for (float& v : average.span()) v *= share;
    // Softmax of log p is p: the loss of the log of the averaged probabilities is -log p(label).
    if (probabilities)
      for (float& v : average.span()) v = std::log(std::max(v, std::numeric_limits<float>::min()));
    total.add(first.loss()->forward(average, batch));
  });
  return sum_over_ranks(total, collective);
}

LossStats sum_over_ranks(const LossStats& local, Collective& collective) {
  LossStats total = local;
  double counts[2] = {static_cast<double>(local.correct), static_cast<double>(local.count)};  // exact below 2^53
  collective.sum(counts);
  ExactSum* loss[] = {&total.exact_loss_sum};
  collective.sum_exact(loss);
  total.loss_sum = total.exact_loss_sum.result(0);
  total.correct = static_cast<int64_t>(counts[0]);
  total.count = static_cast<int64_t>(counts[1]);
  return total;
}

// Scales all gradients so that their global L2 norm is at most `max_norm` (every rank holds the
// same summed gradients, so every rank scales alike).
void clip_gradients(const std::vector<Param*>& params, float max_norm) {
  double sum = 0.0;
  for (const Param* p : params)
    for (float g : p->grad.span()) sum += static_cast<double>(g) * g;
  const double norm = std::sqrt(sum);
  if (norm <= max_norm) return;
  const float scale = static_cast<float>(max_norm / norm);
  for (Param* p : params)
    for (float& g : p->grad.span()) g *= scale;
}

Trainer::Trainer(Net& net, Optimizer& optimizer, Collective& collective, const TrainOptions& options)
    : net_(net),
      optimizer_(optimizer),
      collective_(collective),
      options_(options),
      lookahead_(options.lookahead, net.params(), optimizer),
      total_steps_(options.max_steps) {
  options_.lr = options_.lr.for_run(options_.epochs);
  options_.lr.validate();
  if (!(options_.clip_norm >= 0.0f)) throw std::invalid_argument("clip-norm must be >= 0");
  net_.set_seed(options_.seed);
  net_.set_collective(&collective_);
  if (options_.exact_grain < 0) throw std::invalid_argument("the exact grain must be positive");
  const int64_t grains_per_batch = options_.exact_grain * collective_.world_size();
  if (options_.exact_grain > 0 && options_.global_batch % grains_per_batch != 0) {
    throw std::invalid_argument(
        "exact mode needs whole grains on every rank: the batch of " + std::to_string(options_.global_batch) +
        " is not a multiple of grain " + std::to_string(options_.exact_grain) + " x " +
        std::to_string(collective_.world_size()) + " ranks = " + std::to_string(grains_per_batch));
  }
  net_.set_grain(options_.exact_grain);
  if (options_.epochs <= 0) throw std::invalid_argument("the number of epochs must be positive");
  if (options_.global_batch <= 0) throw std::invalid_argument("the batch must be positive");
  params_ = net_.params();
  for (size_t i = 0; i < net_.size(); ++i) layer_params_.push_back(net_.layer(i).params());
  if (options_.log_grad_norms)
    for (const std::string& name : layers_with_params(net_)) step_norms_.push_back({name});
}

std::vector<std::string> layers_with_params(Net& net) {
  std::vector<std::string> names;
  for (size_t i = 0; i < net.size(); ++i)
    if (!net.layer(i).params().empty()) names.push_back(net.layer(i).name());
  return names;
}

void Trainer::measure_layer_norms() {
  size_t at = 0;
  for (const auto& params : layer_params_) {
    if (params.empty()) continue;
    double gradient = 0.0, weight = 0.0;
    for (const Param* p : params) {
      for (float g : p->grad.span()) gradient += static_cast<double>(g) * g;
      for (float w : p->value.span()) weight += static_cast<double>(w) * w;
    }
    step_norms_[at].gradient = std::sqrt(gradient);
    step_norms_[at++].weight = std::sqrt(weight);
  }
}

LossStats Trainer::step(const Batch& batch, float lr, StepTimes* times) {
  const GemmPrecisionScope precision(options_.precision);  // fit()'s too, but step() is also called alone
  StepTimes unused;
  StepTimes& t = times ? *times : unused;
  auto phase_start = Clock::now();
  auto end_phase = [&](const char* name, double& total) {
    const auto now = Clock::now();
    total += std::chrono::duration<double>(now - phase_start).count();
    if (timeline_) timeline_->add(name, Timeline::kCompute, phase_start, now);
    phase_start = now;
  };
  LossStats s = net_.forward_loss(batch, Mode::kTrain);
  end_phase("forward", t.forward);
  if (!std::isfinite(s.loss_sum)) throw DivergedError("the training loss is " + std::to_string(s.loss_sum));
  const float scale = 1.0f / static_cast<float>(options_.global_batch);
  if (options_.exact_grain > 0) {
    for (Param* p : params_) {
      if (p->grain_sum.size() == static_cast<size_t>(p->grad.numel()))
        p->grain_sum.clear();
      else
        p->grain_sum.resize(static_cast<size_t>(p->grad.numel()));
    }
    net_.backward(batch, scale, [&](size_t layer) { collective_.exact_gradients_ready(layer_params_[layer]); });
    end_phase("backward", t.backward);
    collective_.finish_exact_gradient_sum(params_);
  } else {
    collective_.start_gradient_sum(params_);
    net_.backward(batch, scale, [&](size_t layer) { collective_.gradients_ready(layer_params_[layer]); });
    end_phase("backward", t.backward);
    collective_.finish_gradient_sum();
  }
  end_phase("allreduce wait", t.sync_wait);
  if (options_.log_grad_norms) measure_layer_norms();
  if (options_.clip_norm > 0.0f) clip_gradients(params_, options_.clip_norm);
  lookahead_.start();  // a no-op when off or once the slow weights exist
  optimizer_.step(params_, lr);
  lookahead_.after_step(optimizer_.step_count(), total_steps_);
  end_phase("optimizer", t.optimizer);
  return s;
}

void Trainer::checkpoint(CheckpointSink* sink, const TrainPosition& next) {
  if (sink == nullptr) return;
  // A diverged model never replaces the last good checkpoint.
  for (const Param* p : net_.params()) {
    for (float v : p->value.span()) {
      if (!std::isfinite(v)) {
        throw DivergedError("parameter " + p->name + " is not finite after step " + std::to_string(next.global_step) +
                            ": training diverged; not checkpointing it");
      }
    }
  }
  sink->save(next);
}

FitEnd Trainer::fit(BatchSource& train, BatchSource* test, TrainObserver& observer, TrainPosition start,
                    CheckpointSink* sink) {
  const GemmPrecisionScope precision(options_.precision);  // the evaluations after each epoch too
  ShardSampler sampler(train.size(), options_.global_batch, collective_.rank(), collective_.world_size(),
                       options_.seed);
  const int64_t steps = sampler.steps_per_epoch();
  total_steps_ =
      options_.max_steps > 0 ? std::min(options_.max_steps, options_.epochs * steps) : options_.epochs * steps;
  if (start.step >= steps) start = TrainPosition{start.epoch + 1, 0, start.global_step};
  best_val_loss_ = std::numeric_limits<double>::infinity();
  epochs_without_improvement_ = 0;
  TrainPosition at = start;
  end_position_ = start;
  stop_agreed_ = false;
  BatchReader reader;
  for (int64_t epoch = start.epoch; epoch < options_.epochs && !step_limit_reached(at.global_step); ++epoch) {
    sampler.start_epoch(epoch);
    at = TrainPosition{epoch, epoch == start.epoch ? start.step : 0, at.global_step};
    EpochReport report = train_epoch(train, sampler, at, observer, sink, reader);
    const bool epoch_done = at.step == steps;
    end_position_ = epoch_done ? TrainPosition{epoch + 1, 0, at.global_step} : at;
    const bool finished = step_limit_reached(at.global_step) || (epoch_done && epoch + 1 == options_.epochs);
    const bool interrupted = stop_agreed_ && !finished;
    if (finished) lookahead_.finish();  // the trained model is the slow weights
    if (!interrupted || epoch_done) {   // an interrupted epoch is scored by the run that completes it
      score_epoch(test, report);
      observer.on_epoch(report);
    }
    // At an epoch's end, where max_steps stopped the run or where the ranks agreed to stop.
    checkpoint(sink, end_position_);
    if (interrupted) return FitEnd::kStopRequested;
    if (report.stopped_early) break;
  }
  return FitEnd::kFinished;
}

bool Trainer::step_limit_reached(int64_t global_step) const {
  return options_.max_steps > 0 && global_step >= options_.max_steps;
}

EpochReport Trainer::train_epoch(BatchSource& train, const ShardSampler& sampler, TrainPosition& at,
                                 TrainObserver& observer, CheckpointSink* sink, BatchReader& reader) {
  const int64_t steps = sampler.steps_per_epoch(), epoch = at.epoch, first_step = at.step;
  const auto epoch_start = Clock::now();
  double wait = 0.0;
  LossStats epoch_stats;
  StepTimes phases;
  std::vector<LayerNorms> epoch_norms = step_norms_;
  for (LayerNorms& n : epoch_norms) n.gradient = 0.0;
  // Batch `step` is read into reader.buffers[step % 2] on a background thread while step - 1 trains.
  auto read_async = [&](int64_t step, int64_t at_global_step) {
    reader.task.start([&train, &sampler, &reader, this, epoch, step, at_global_step] {
      Timeline::Span span(timeline_, "read batch", Timeline::kDataLoading, at_global_step);
      read_step(train, sampler, epoch, step, reader.buffers[step % 2]);
    });
  };
  read_async(first_step, at.global_step);
  for (; at.step < steps && !step_limit_reached(at.global_step); ++at.step) {
    if (timeline_) timeline_->set_step(at.global_step);
    collective_.begin_step(at.global_step);
    const auto wait_start = Clock::now();
    {
      Timeline::Span span(timeline_, "data wait");
      reader.task.wait();
    }
    wait += seconds_since(wait_start);
    const Batch& batch = reader.buffers[at.step % 2];
    if (at.step + 1 < steps && !step_limit_reached(at.global_step + 1)) read_async(at.step + 1, at.global_step + 1);
    const float lr = options_.lr.at(static_cast<double>(epoch) + static_cast<double>(at.step) / steps);
    LossStats s;
    try {
      s = step(batch, lr, &phases);
    } catch (const DivergedError& e) {
      reader.task.wait();
      throw DivergedError(std::string(e.what()) + " at epoch " + std::to_string(epoch + 1) + ", step " +
                          std::to_string(at.step + 1) + ": training diverged (try a smaller learning rate)");
    }
    epoch_stats.add(s);
    ++at.global_step;
    observer.on_step(StepReport{epoch, at.step, steps, at.global_step,
                                s.count ? s.loss_sum / static_cast<double>(s.count) : 0.0, lr, step_norms_});
    for (size_t i = 0; i < step_norms_.size(); ++i) {
      epoch_norms[i].gradient += step_norms_[i].gradient;
      epoch_norms[i].weight = step_norms_[i].weight;
    }
    if (collective_.stop_agreed()) {  // fit() checkpoints where it stopped
      stop_agreed_ = true;
      ++at.step;
      break;
    }
    const bool periodic = options_.checkpoint_every > 0 && at.global_step % options_.checkpoint_every == 0;
    if (periodic && at.step + 1 < steps && !step_limit_reached(at.global_step)) {
      checkpoint(sink, {epoch, at.step + 1, at.global_step});
    }
  }
  reader.task.wait();
  EpochReport report;
  report.layer_norms = epoch_norms;
  for (LayerNorms& n : report.layer_norms)
    n.gradient /= static_cast<double>(std::max<int64_t>(at.step - first_step, 1));
  report.epoch = epoch;
  report.steps = at.step - first_step;
  report.seconds = seconds_since(epoch_start);
  report.data_wait_seconds = wait;
  report.forward_seconds = phases.forward;
  report.backward_seconds = phases.backward;
  report.sync_wait_seconds = phases.sync_wait;
  report.optimizer_seconds = phases.optimizer;
  report.lr = options_.lr.at(static_cast<double>(epoch));
  const LossStats total = sum_over_ranks(epoch_stats, collective_);
  if (total.count > 0) {
    const double count = static_cast<double>(total.count);
    report.train_loss = total.loss_sum / count;
    report.train_accuracy = net_.loss()->is_classifier() ? static_cast<double>(total.correct) / count : std::nan("");
    report.samples_per_second = count / std::max(report.seconds, 1e-9);
  }
  return report;
}

void Trainer::score_epoch(BatchSource* test, EpochReport& report) {
  const bool classifier = net_.loss()->is_classifier();
  auto score = [&](BatchSource& source, double& loss, double& accuracy) {
    const LossStats t = evaluate(net_, source, options_.eval_batch, collective_);
    const double n = static_cast<double>(std::max<int64_t>(t.count, 1));
    loss = t.loss_sum / n;
    if (classifier) accuracy = static_cast<double>(t.correct) / n;
  };
  if (test != nullptr) score(*test, report.test_loss, report.test_accuracy);
  if (validation_ == nullptr) return;
  score(*validation_, report.val_loss, report.val_accuracy);
  // An improvement is a relative drop of more than 1e-4 (ReduceLROnPlateau's default threshold).
  if (report.val_loss < best_val_loss_ * (1.0 - 1e-4)) {
    best_val_loss_ = report.val_loss;
    epochs_without_improvement_ = 0;
  } else if (patience_ > 0 && ++epochs_without_improvement_ >= patience_) {
    report.stopped_early = true;
  }
}

}  // namespace shardnet
