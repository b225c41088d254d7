#include "core/run_config.h"

#include <charconv>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "core/enum_names.h"

namespace shardnet {
namespace {

constexpr EnumName<GradCompression> kCompressionNames[] = {
    {GradCompression::kNone, "none"}, {GradCompression::kBf16, "bf16"}, {GradCompression::kFp16, "fp16"}};

template <typename T>
std::string text(const T& v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buffer[64];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;  // shortest exact form
    return std::string(buffer, end);
  } else {
    std::ostringstream out;
    out << v;
    return out.str();
  }
}

template <typename T>
std::string text(const std::optional<T>& v) {
  return v ? text(*v) : "default";
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

std::ostream& operator<<(std::ostream& out, GradCompression value) {
  return out << enum_name(std::span<const EnumName<GradCompression>>(kCompressionNames), value);
}
std::istream& operator>>(std::istream& in, GradCompression& value) {
  std::string name;
  if (in >> name) {
    value = parse_enum(std::span<const EnumName<GradCompression>>(kCompressionNames), name, "gradient compression");
  }
  return in;
}

void RunConfig::validate() const {
  require(!model_path.empty(), "model: a model file is needed");
  require(!data_path.empty(), "data: a training data set is needed");
  require(train.epochs > 0, "epochs must be positive");
  require(train.global_batch > 0, "batch must be positive");
  require(train.max_steps >= 0, "max-steps must be >= 0");
  require(train.eval_batch > 0, "eval-batch must be positive");
  require(train.checkpoint_every >= 0, "checkpoint-every must be >= 0");
  require(train.clip_norm >= 0.0f, "clip-norm must be >= 0");
  require(train.exact_grain >= 0, "exact-grain must be positive");
  require(train.exact_grain == 0 || grad_compression == GradCompression::kNone,
          "exact mode sums the gradients exactly and --grad-compression rounds them on the way: choose one");
  train.lr.for_run(train.epochs).validate();
  optimizer.validate();
  train.lookahead.validate();
  require(val_fraction >= 0.0 && val_fraction < 1.0, "val-fraction must be in [0, 1)");
  require(patience >= 0, "patience must be >= 0");
  require(patience == 0 || val_fraction > 0.0, "patience needs a validation split (val-fraction)");
  require(log_every >= 0, "log-every must be >= 0");
  require(threads >= 0, "threads must be >= 0");
  require(bucket_mb > 0.0 && std::isfinite(bucket_mb), "bucket-mb must be positive");
  require(keep_checkpoints >= 1, "keep-checkpoints must be at least 1");
  require(stall_warning >= 0.0 && std::isfinite(stall_warning), "stall-warning must be >= 0 seconds");
  require(stall_timeout >= 0.0 && std::isfinite(stall_timeout), "stall-timeout must be >= 0 seconds");
}

std::vector<RunConfig::Field> RunConfig::fields() const {
  const bool what = false, how = true;  // what the run computes; how it is carried out
  std::vector<Field> all = {
      {"model", model_path, how},
      {"data", data_path, how},
      {"test", text(test_path), how},
      {"run-dir", run_dir, how},
      {"epochs", text(train.epochs), how},
      {"batch", text(train.global_batch), what},
      {"max-steps", text(train.max_steps), how},
      {"seed", text(train.seed), what},
      {"eval-batch", text(train.eval_batch), how},
      {"checkpoint-every", text(train.checkpoint_every), how},
      {"clip-norm", text(train.clip_norm), what},
      {"lr", text(train.lr.base), what},
      {"lr-schedule", text(train.lr.kind), what},
      {"warmup-epochs", text(train.lr.warmup_epochs), what},
      {"lr-step", text(train.lr.step_epochs), what},
      {"lr-gamma", text(train.lr.gamma), what},
      {"optimizer", text(optimizer.kind), what},
      {"momentum", text(optimizer.momentum), what},
      {"beta1", text(optimizer.beta1), what},
      {"beta2", text(optimizer.beta2), what},
      {"epsilon", text(optimizer.epsilon), what},
      {"rms-decay", text(optimizer.rms_decay), what},
      {"rho", text(optimizer.rho), what},
      {"weight-decay", text(optimizer.weight_decay), what},
      {"l1", text(optimizer.l1), what},
      {"val-fraction", text(val_fraction), what},
      {"patience", text(patience), how},
      {"log-every", text(log_every), how},
      {"threads", text(threads), how},
      {"bucket-mb", text(bucket_mb), how},
      {"grad-compression", text(grad_compression), what},
      {"keep-checkpoints", text(keep_checkpoints), how},
      {"stall-warning", text(stall_warning), how},
      {"stall-timeout", text(stall_timeout), how},
      {"timeline", text(timeline_path), how},
  };
  // Only in exact mode, so that checkpoints of normal runs (before there was one) still match.
  if (train.exact_grain > 0) all.push_back({"exact-grain", text(train.exact_grain), what});
  if (train.log_grad_norms) all.push_back({"log-grad-norms", "1", how});
  if (train.precision != Precision::kFp32) all.push_back({"precision", text(train.precision), what});
  if (train.lookahead.enabled()) {
    all.push_back({"lookahead", text(train.lookahead.every), what});
    all.push_back({"lookahead-alpha", text(train.lookahead.alpha), what});
    all.push_back({"lookahead-ramp", text(train.lookahead.ramp), what});
  }
  return all;
}

std::string run_config_text(const RunConfig& config, const std::vector<RunConfig::Field>& extra) {
  std::string out;
  for (const auto& fields : {config.fields(), extra}) {
    for (const RunConfig::Field& f : fields) {
      out += (f.resumable ? "" : "! ") + f.key + " = " + f.value + "\n";
    }
  }
  return out;
}

// Lines "key = value"; a leading "! " marks a field a resumed run must keep.
std::map<std::string, std::string> parse_run_config_text(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    fields[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return fields;
}

std::vector<std::string> resume_conflicts(const std::string& saved, const std::string& current) {
  const auto before = parse_run_config_text(saved), now = parse_run_config_text(current);
  std::vector<std::string> conflicts;
  std::set<std::string> keys;
  for (const auto* fields : {&before, &now})
    for (const auto& [key, value] : *fields)
      if (key.rfind("! ", 0) == 0) keys.insert(key);
  for (const std::string& key : keys) {
    auto a = before.find(key), b = now.find(key);
    const std::string was = a == before.end() ? "absent" : a->second, is = b == now.end() ? "absent" : b->second;
    if (was != is) conflicts.push_back(key.substr(2) + ": " + was + " in the checkpoint, " + is + " now");
  }
  return conflicts;
}

}  // namespace shardnet
