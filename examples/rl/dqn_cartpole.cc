// Deep Q-learning (Mnih et al. 2015, with Double DQN's targets, van Hasselt et al. 2016) on the
// cart-pole, data-parallel over MPI ranks through shardnet's C++ API:
//   mpirun -np R dqn_cartpole [--seed S] [--envs E] [--steps N] [--out DIR] ...
// E environment streams in all (R must divide E), E / R on each rank. Each stream has its own
// environment, exploration and replay memory, all keyed by (seed, stream), never by rank. Every
// iteration each stream takes one step, then one update: each stream draws batch / E transitions
// from its memory, each rank back-propagates the Huber TD loss of its streams' draws, and the
// gradients are averaged over the ranks (Collective::sum_gradients), so every rank takes the same
// Adam step. The union of the streams' memories is one replay memory sampled in equal strata, so
// R ranks x E / R streams train the same agent as 1 rank x E streams. The target network follows
// the online one by Polyak averaging. Every --eval-every steps the greedy policy plays 100 episodes
// (split over the ranks); the task counts as solved when their mean return is >= 475.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cartpole.h"
#include "core/activation.h"
#include "core/dense.h"
#include "core/loss.h"
#include "core/net.h"
#include "core/optimizer.h"
#include "core/random.h"
#include "core/trainer.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "io/checkpoint.h"

namespace {

using cartpole::CartPole;
using shardnet::CounterRng;
using shardnet::hash_key;
using shardnet::Mode;
using shardnet::Tensor;

struct Settings {
  uint64_t seed = 1;
  int envs = 2;            // environment streams over all ranks
  int64_t steps = 100000;  // environment steps over all streams, at most
  int64_t learning_starts = 1000;
  int64_t eval_every = 2000;  // environment steps between greedy evaluations
  int eval_episodes = 100;
  int batch = 128;  // transitions per update, over all streams
  int hidden = 128;
  float lr = 2e-3f, gamma = 0.99f, tau = 0.005f, clip = 10.0f;
  float epsilon_end = 0.04f;
  int64_t epsilon_steps = 16000;  // linear decay from 1 over this many environment steps
  int64_t memory = 100000;        // transitions over all streams
  bool keep_going = false;        // train on after solving
  std::string out;                // CSV files here; empty: none
  std::string save;               // a checkpoint set of the nets at the end; empty: none
};

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--keep-going") {
      s.keep_going = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--seed")
      s.seed = std::stoull(v);
    else if (flag == "--envs")
      s.envs = std::stoi(v);
    else if (flag == "--steps")
      s.steps = std::stoll(v);
    else if (flag == "--learning-starts")
      s.learning_starts = std::stoll(v);
    else if (flag == "--eval-every")
      s.eval_every = std::stoll(v);
    else if (flag == "--eval-episodes")
      s.eval_episodes = std::stoi(v);
    else if (flag == "--batch")
      s.batch = std::stoi(v);
    else if (flag == "--hidden")
      s.hidden = std::stoi(v);
    else if (flag == "--lr")
      s.lr = std::stof(v);
    else if (flag == "--gamma")
      s.gamma = std::stof(v);
    else if (flag == "--tau")
      s.tau = std::stof(v);
    else if (flag == "--epsilon-steps")
      s.epsilon_steps = std::stoll(v);
    else if (flag == "--memory")
      s.memory = std::stoll(v);
    else if (flag == "--out")
      s.out = v;
    else if (flag == "--save")
      s.save = v;
    else
      throw std::invalid_argument("unknown flag " + flag);
  }
  if (s.envs < 1 || s.batch < s.envs || s.batch % s.envs != 0) {
    throw std::invalid_argument("--batch must be a positive multiple of --envs");
  }
  if (s.eval_episodes < 1 || s.eval_every < 1 || s.memory < s.envs)
    throw std::invalid_argument("bad evaluation or memory size");
  return s;
}

std::unique_ptr<shardnet::Net> q_network(int hidden) {
  using namespace shardnet;
  auto net = std::make_unique<Net>(Shape{CartPole::kObservations});
  net->add(std::make_unique<Dense>("fc1", hidden));
  net->add(std::make_unique<ReLU>("relu1"));
  net->add(std::make_unique<Dense>("fc2", hidden));
  net->add(std::make_unique<ReLU>("relu2"));
  net->add(std::make_unique<Dense>("q", CartPole::kActions));
  net->set_loss(std::make_unique<Huber>(1.0f));
  return net;
}

// The observations of environments env_at(0..n-1), one row each.
template <class EnvAt>
Tensor observations(size_t n, EnvAt&& env_at) {
  Tensor obs({static_cast<int64_t>(n), CartPole::kObservations});
  for (size_t k = 0; k < n; ++k) {
    const auto o = env_at(k).observation();
    std::copy(o.begin(), o.end(), obs.data() + k * CartPole::kObservations);
  }
  return obs;
}

int argmax_row(const Tensor& q, int64_t row) {
  return q[row * CartPole::kActions + 1] > q[row * CartPole::kActions] ? 1 : 0;
}

// One stream's replay memory: a ring of transitions.
class ReplayMemory {
 public:
  explicit ReplayMemory(int64_t capacity) : capacity_(capacity) {
    obs_.resize(capacity * CartPole::kObservations);
    next_.resize(capacity * CartPole::kObservations);
    action_.resize(capacity);
    terminal_.resize(capacity);
  }
  void add(const std::array<float, 4>& obs, int action, const std::array<float, 4>& next, bool terminal) {
    const int64_t i = written_ % capacity_;
    std::copy(obs.begin(), obs.end(), obs_.begin() + i * CartPole::kObservations);
    std::copy(next.begin(), next.end(), next_.begin() + i * CartPole::kObservations);
    action_[i] = action;
    terminal_[i] = terminal ? 1 : 0;
    ++written_;
  }
  int64_t size() const { return std::min(written_, capacity_); }
  const float* obs(int64_t i) const { return obs_.data() + i * CartPole::kObservations; }
  const float* next(int64_t i) const { return next_.data() + i * CartPole::kObservations; }
  int action(int64_t i) const { return action_[i]; }
  bool terminal(int64_t i) const { return terminal_[i] != 0; }

 private:
  int64_t capacity_, written_ = 0;
  std::vector<float> obs_, next_;
  std::vector<int> action_;
  std::vector<char> terminal_;
};

struct Stream {
  int index = 0;  // global
  CartPole env;
  CounterRng env_rng{0}, explore_rng{0};
  std::unique_ptr<ReplayMemory> memory;
  double episode_return = 0.0;
};

class Agent {
 public:
  Agent(const Settings& s, const shardnet::dist::Communicator& comm)
      : s_(s), comm_(comm), gradients_(comm), online_(q_network(s.hidden)), target_(q_network(s.hidden)) {
    if (s.envs % comm.size() != 0) throw std::invalid_argument("the ranks must divide --envs");
    online_->initialize(s.seed);
    shardnet::dist::broadcast_parameters(comm, online_->params());
    shardnet::move_parameters_toward(*target_, *online_);
    shardnet::OptimizerConfig adam;
    adam.kind = shardnet::OptimizerKind::kAdam;
    optimizer_ = shardnet::make_optimizer(adam);
    const int local = s.envs / comm.size();
    for (int k = 0; k < local; ++k) {
      Stream st;
      st.index = comm.rank() * local + k;
      st.env_rng = CounterRng(hash_key(s.seed, 1, st.index));
      st.explore_rng = CounterRng(hash_key(s.seed, 2, st.index));
      st.memory = std::make_unique<ReplayMemory>(s.memory / s.envs);
      st.env.reset(st.env_rng);
      streams_.push_back(std::move(st));
    }
  }

  float epsilon(int64_t step) const {
    const double f = std::min(1.0, static_cast<double>(step) / static_cast<double>(s_.epsilon_steps));
    return static_cast<float>(1.0 - f * (1.0 - s_.epsilon_end));
  }

  // One environment step of every local stream; returns, per global stream, the return of an
  // episode that just ended there (0: none), summed over the ranks.
  std::vector<double> act(int64_t step) {
    const Tensor obs = observations(streams_.size(), [&](size_t k) -> const CartPole& { return streams_[k].env; });
    const Tensor& q = online_->forward(obs, Mode::kEval);
    std::vector<double> finished(static_cast<size_t>(s_.envs), 0.0);
    const float eps = epsilon(step);
    for (size_t k = 0; k < streams_.size(); ++k) {
      Stream& st = streams_[k];
      const bool explore = st.explore_rng.uniform() < eps;
      const int action = explore ? static_cast<int>(st.explore_rng.below(2)) : argmax_row(q, static_cast<int64_t>(k));
      const auto before = st.env.observation();
      const cartpole::Outcome out = st.env.step(action);
      st.memory->add(before, action, st.env.observation(), out.terminated);
      st.episode_return += 1.0;
      if (out.done()) {
        finished[st.index] = st.episode_return;
        st.episode_return = 0.0;
        st.env.reset(st.env_rng);
      }
    }
    comm_.allreduce_sum(finished);
    return finished;
  }

  // One update from batch / envs transitions of every stream.
  void update(int64_t iteration) {
    const int per_stream = s_.batch / s_.envs;
    const int64_t n = per_stream * static_cast<int64_t>(streams_.size());
    shardnet::Batch batch;
    batch.data = Tensor({n, CartPole::kObservations});
    Tensor next({n, CartPole::kObservations});
    std::vector<int> actions(n);
    std::vector<char> terminal(n);
    int64_t row = 0;
    for (Stream& st : streams_) {
      CounterRng draw(hash_key(s_.seed, 3, hash_key(st.index, iteration)));
      for (int j = 0; j < per_stream; ++j, ++row) {
        const auto i = static_cast<int64_t>(draw.below(st.memory->size()));
        std::copy_n(st.memory->obs(i), CartPole::kObservations, batch.data.data() + row * CartPole::kObservations);
        std::copy_n(st.memory->next(i), CartPole::kObservations, next.data() + row * CartPole::kObservations);
        actions[row] = st.memory->action(i);
        terminal[row] = st.memory->terminal(i) ? 1 : 0;
      }
    }
    // Double DQN: the online net picks the next action, the target net values it.
    std::vector<int> best(n);
    const Tensor& q_next_online = online_->forward(next, Mode::kEval);
    for (int64_t r = 0; r < n; ++r) best[r] = argmax_row(q_next_online, r);
    const Tensor& q_next = target_->forward(next, Mode::kEval);
    std::vector<float> td(n);
    for (int64_t r = 0; r < n; ++r) {
      td[r] = 1.0f + (terminal[r] ? 0.0f : s_.gamma * q_next[r * CartPole::kActions + best[r]]);
    }
    const Tensor& q = online_->forward(batch, Mode::kTrain);
    batch.targets = q;  // only the taken action's value is pulled toward its TD target
    for (int64_t r = 0; r < n; ++r) batch.targets[r * CartPole::kActions + actions[r]] = td[r];
    // d(mean over the global batch); summed over the ranks it is the whole batch's mean.
    online_->backward(batch, 1.0f / static_cast<float>(s_.batch));
    const std::vector<shardnet::Param*> params = online_->params();
    gradients_.sum_gradients(params);
    shardnet::clip_gradients(params, s_.clip);
    optimizer_->step(params, s_.lr);
    shardnet::move_parameters_toward(*target_, *online_, s_.tau);
  }

  // The greedy policy's mean return over eval_episodes episodes (split over the ranks), and its
  // lowest.
  std::pair<double, double> evaluate(int64_t evaluation) {
    std::vector<CartPole> envs;
    for (int e = comm_.rank(); e < s_.eval_episodes; e += comm_.size()) {
      CounterRng rng(hash_key(s_.seed, 4, hash_key(evaluation, e)));
      envs.emplace_back().reset(rng);
    }
    std::vector<double> returns(envs.size(), 0.0);
    std::vector<size_t> running(envs.size());
    for (size_t i = 0; i < envs.size(); ++i) running[i] = i;
    while (!running.empty()) {
      const Tensor obs = observations(running.size(), [&](size_t k) -> const CartPole& { return envs[running[k]]; });
      const Tensor& q = online_->forward(obs, Mode::kEval);
      std::vector<size_t> still;
      for (size_t k = 0; k < running.size(); ++k) {
        const size_t i = running[k];
        returns[i] += 1.0;
        if (!envs[i].step(argmax_row(q, static_cast<int64_t>(k))).done()) still.push_back(i);
      }
      running.swap(still);
    }
    double sum = 0.0, lowest = 1e9;
    for (double r : returns) {
      sum += r;
      lowest = std::min(lowest, r);
    }
    std::vector<double> total = {sum};
    comm_.allreduce_sum(total);
    std::vector<int32_t> low_int = {static_cast<int32_t>(-lowest)};
    comm_.allreduce_max(low_int);
    return {total[0] / s_.eval_episodes, -static_cast<double>(low_int[0])};
  }

  void save(const std::string& path, int64_t step) {
    shardnet::io::CheckpointMeta meta;
    meta.global_step = step;
    meta.global_batch = s_.batch;
    meta.seed = s_.seed;
    meta.world_size = comm_.size();
    shardnet::io::save_checkpoint_set(
        path, {{"online", *online_, optimizer_.get(), ""}, {"target", *target_, nullptr, ""}}, meta);
  }

 private:
  const Settings& s_;
  const shardnet::dist::Communicator& comm_;
  shardnet::dist::GradientSync gradients_;
  std::unique_ptr<shardnet::Net> online_, target_;
  std::unique_ptr<shardnet::Optimizer> optimizer_;
  std::vector<Stream> streams_;
};

int run(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  shardnet::dist::Communicator comm;
  const bool leader = comm.rank() == 0;
  Agent agent(s, comm);
  std::ofstream episodes, evaluations;
  if (leader && !s.out.empty()) {
    std::filesystem::create_directories(s.out);
    episodes.open(s.out + "/episodes.csv");
    evaluations.open(s.out + "/evaluations.csv");
    episodes << "env_steps,stream,return,mean_return_100,epsilon\n";
    evaluations << "env_steps,mean_return,lowest_return,seconds\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::vector<double> recent;  // the last 100 training returns, for Gym's moving average
  int64_t step = 0, iteration = 0, updates = 0, evaluation = 0, solved_at = -1;
  double solved_seconds = 0.0;
  while (step < s.steps) {
    const std::vector<double> finished = agent.act(step);
    step += s.envs;
    for (int e = 0; e < s.envs; ++e) {
      if (finished[e] == 0.0) continue;
      recent.push_back(finished[e]);
      if (recent.size() > 100) recent.erase(recent.begin());
      double mean = 0.0;
      for (double r : recent) mean += r;
      if (episodes.is_open()) {
        episodes << step << "," << e << "," << finished[e] << "," << mean / static_cast<double>(recent.size()) << ","
                 << agent.epsilon(step) << "\n";
      }
    }
    if (step >= s.learning_starts) {
      agent.update(iteration);
      ++updates;
    }
    ++iteration;
    if (step >= s.learning_starts && step / s.eval_every != (step - s.envs) / s.eval_every) {
      const auto [mean, lowest] = agent.evaluate(evaluation++);
      if (evaluations.is_open()) evaluations << step << "," << mean << "," << lowest << "," << seconds() << "\n";
      if (leader) {
        std::printf("steps %7lld  updates %6lld  greedy return %6.1f (lowest %3.0f)  %.1f s\n",
                    static_cast<long long>(step), static_cast<long long>(updates), mean, lowest, seconds());
        std::fflush(stdout);
      }
      if (mean >= 475.0 && solved_at < 0) {
        solved_at = step;
        solved_seconds = seconds();
        if (!s.keep_going) break;
      }
    }
  }
  if (!s.save.empty() && leader) agent.save(s.save, step);
  if (leader) {
    if (solved_at >= 0) {
      std::printf("solved: seed %llu, %d rank(s), %d streams: %lld environment steps, %.1f s\n",
                  static_cast<unsigned long long>(s.seed), comm.size(), s.envs, static_cast<long long>(solved_at),
                  solved_seconds);
    } else {
      std::printf("not solved: seed %llu, %d rank(s), %d streams: %lld environment steps, %.1f s\n",
                  static_cast<unsigned long long>(s.seed), comm.size(), s.envs, static_cast<long long>(step),
                  seconds());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dqn_cartpole: error: %s\n", e.what());
    return 1;
  }
}
