#include "tools/train_options.h"

#include <map>

namespace shardnet::tools {
namespace {

// The text of a default RunConfig's field `key`: what --help shows as the default.
std::string default_text(const std::string& key) {
  static const std::map<std::string, std::string> defaults = [] {
    std::map<std::string, std::string> m;
    for (const auto& f : RunConfig{}.fields()) m[f.key] = f.value;
    return m;
  }();
  return defaults.at(key);
}

// A flag bound to `member`, defaulting to its current (default) value.
template <typename T>
po::typed_value<T>* field(T* member, const std::string& key) {
  return po::value(member)->default_value(*member, default_text(key));
}

}  // namespace

void add_train_options(po::options_description& options, RunConfig& c) {
  TrainOptions& t = c.train;
  OptimizerConfig& o = c.optimizer;
  // clang-format off
  options.add_options()
      ("model,m", po::value(&c.model_path)->required(), "model file (.cfg)")
      ("data,d", po::value(&c.data_path)->required(), "training data set (HDF5)")
      ("test,t", po::value<std::string>(), "test data set (HDF5), scored after every epoch")
      ("epochs,e", field(&t.epochs, "epochs"), "epochs")
      ("batch,b", field(&t.global_batch, "batch"), "global mini-batch size")
      ("optimizer", field(&o.kind, "optimizer"), "sgd | momentum | nesterov | adagrad | rmsprop | adadelta | adam")
      ("lr", field(&t.lr.base, "lr"), "learning rate")
      ("momentum", po::value<float>(), "momentum (default 0 for sgd, 0.9 for momentum and nesterov)")
      ("beta1", field(&o.beta1, "beta1"), "Adam beta1")
      ("beta2", field(&o.beta2, "beta2"), "Adam beta2")
      ("epsilon", po::value<float>(), "epsilon of the adaptive optimizers (default adam, rmsprop 1e-8; adagrad 1e-10; "
                                      "adadelta 1e-6)")
      ("rms-decay", field(&o.rms_decay, "rms-decay"), "RMSprop's moving-average decay (Caffe's rms_decay)")
      ("rho", field(&o.rho, "rho"), "AdaDelta's rho")
      ("l1", field(&o.l1, "l1"), "L1 regularisation (weights, not biases)")
      ("weight-decay", field(&o.weight_decay, "weight-decay"), "L2 weight decay (weights, not biases)")
      ("clip-norm", field(&t.clip_norm, "clip-norm"), "clip the gradient to this global L2 norm (0: off)")
      ("exact", "exact mode: bitwise the same training at every rank count that gives each rank whole grains")
      ("exact-grain", po::value<int64_t>()->default_value(kDefaultExactGrain),
       "exact mode's samples per grain (implies --exact); the batch must be a multiple of grain x ranks")
      ("lr-schedule", field(&t.lr.kind, "lr-schedule"), "constant | step | exponential | cosine | linear")
      ("warmup-epochs", field(&t.lr.warmup_epochs, "warmup-epochs"), "linear warm-up from lr/10 over this many epochs")
      ("lr-step", field(&t.lr.step_epochs, "lr-step"), "step: epochs between decays")
      ("lr-gamma", field(&t.lr.gamma, "lr-gamma"), "step: factor per step; exponential: factor per epoch")
      ("lookahead", po::value(&t.lookahead.every)->default_value(t.lookahead.every),
       "Lookahead (Zhang et al. 2019): every this many steps the slow weights move toward the trained ones, "
       "which restart from them; the run ends on the slow weights (0: off)")
      ("lookahead-alpha", po::value(&t.lookahead.alpha)->default_value(t.lookahead.alpha, "0.5"),
       "the slow weights' step toward the trained ones at each sync")
      ("lookahead-ramp", po::value(&t.lookahead.ramp)->default_value(t.lookahead.ramp, "constant"),
       "constant | cubic: cubic ramps the step from 1 at the start to lookahead-alpha at the end (airbench's)")
      ("seed", field(&t.seed, "seed"), "seed for initialisation, shuffling, dropout and augmentation")
      ("val-fraction", field(&c.val_fraction, "val-fraction"),
       "hold out this fraction of the training data (fixed-seed split) and score it after each epoch")
      ("patience", field(&c.patience, "patience"),
       "early stopping: stop when the validation loss has not improved for this many epochs (0: never)")
      ("log-every", field(&c.log_every, "log-every"),
       "write the mean training loss of every N steps to steps.csv in the run directory (0: off)")
      ("log-grad-norms", "each layer's gradient and weight L2 norms: per epoch in metrics.csv, per --log-every "
                         "window in steps.csv")
      ("max-steps", field(&t.max_steps, "max-steps"), "stop after this many steps (0: no limit)")
      ("eval-batch", field(&t.eval_batch, "eval-batch"), "batch size for evaluation")
      ("threads", field(&c.threads, "threads"), "compute threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ("bucket-mb", field(&c.bucket_mb, "bucket-mb"), "gradient allreduce bucket size (MiB)")
      ("precision", po::value(&t.precision)->default_value(t.precision, "fp32"),
       "fp32 | bf16: bf16 multiplies the layers' matrices as bfloat16 with float32 sums (oneDNN on CPUs with "
       "AVX512-BF16 or AMX, a slow reference elsewhere); weights, optimizer and gradient sums stay float32")
      ("grad-compression", field(&c.grad_compression, "grad-compression"),
       "none | bf16 | fp16: gradients travel as 16-bit floats, summed in float32, with error feedback")
      ("timeline", po::value<std::string>(),
       "write a Chrome trace (chrome://tracing, Perfetto) of every rank's step phases and allreduces to FILE")
      ("checkpoint-every", field(&t.checkpoint_every, "checkpoint-every"),
       "also checkpoint every this many steps (checkpoints are always written at each epoch end)")
      ("keep-checkpoints", field(&c.keep_checkpoints, "keep-checkpoints"), "how many of the newest checkpoints to keep")
      ("stall-warning", field(&c.stall_warning, "stall-warning"),
       "report a rank that has lagged the others' collectives (or sent no heartbeat) this many seconds (0: off)")
      ("stall-timeout", field(&c.stall_timeout, "stall-timeout"),
       "end the job with exit status 70 when a rank has lagged this many seconds (0: never)")
      ("resume", po::value<std::string>()->implicit_value("latest"),
       "continue from a checkpoint: FILE, or without a value the newest good one in the run directory")
      ("overwrite", "start afresh in a run directory that holds an earlier run's checkpoints (deletes them)")
      ("run-dir", field(&c.run_dir, "run-dir"), "where metrics.csv, checkpoints and final.h5 go")
      ("config", po::value<std::string>(), "file of `option = value` lines (command-line flags win)");
  // clang-format on
}

void finish_train_options(const po::variables_map& vm, RunConfig& c) {
  auto optional_text = [&](const char* key) {
    return vm.count(key) ? std::optional<std::string>(vm[key].as<std::string>()) : std::nullopt;
  };
  auto optional_float = [&](const char* key) {
    return vm.count(key) ? std::optional<float>(vm[key].as<float>()) : std::nullopt;
  };
  c.test_path = optional_text("test");
  c.timeline_path = optional_text("timeline");
  c.resume = optional_text("resume");
  c.optimizer.momentum = optional_float("momentum");
  c.optimizer.epsilon = optional_float("epsilon");
  c.overwrite = vm.count("overwrite") > 0;
  c.train.log_grad_norms = vm.count("log-grad-norms") > 0;
  const bool exact = vm.count("exact") > 0 || !vm["exact-grain"].defaulted();
  c.train.exact_grain = exact ? vm["exact-grain"].as<int64_t>() : 0;
  if (exact && c.train.exact_grain <= 0) throw po::error("--exact-grain must be positive");
}

}  // namespace shardnet::tools
