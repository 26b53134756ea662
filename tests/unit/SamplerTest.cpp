//===- SamplerTest.cpp - Greedy, temperature, top-k, top-p, stop ----------===//

#include "attnc/Runtime/Sampler.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <vector>

using namespace attnc::runtime;

namespace {

SamplingOptions opts(double t, int64_t k = 0, double p = 1.0,
                     uint64_t seed = 7) {
  SamplingOptions o;
  o.temperature = t;
  o.topK = k;
  o.topP = p;
  o.seed = seed;
  return o;
}

/// Frequencies of `draws` samples.
std::vector<double> frequencies(Sampler &s, const std::vector<float> &logits,
                                int draws) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i)
    f[size_t(s.sample(logits.data(), int64_t(logits.size())))] += 1.0 / draws;
  return f;
}

std::vector<double> softmax(const std::vector<float> &l, double t) {
  std::vector<double> p;
  double m = -INFINITY, sum = 0;
  for (float v : l)
    m = std::max(m, double(v));
  for (float v : l)
    p.push_back(std::exp((double(v) - m) / t)), sum += p.back();
  for (double &v : p)
    v /= sum;
  return p;
}

const std::vector<float> kLogits = {1.0f, 2.5f, -0.5f, 2.0f, 0.0f, -3.0f};

} // namespace

TEST_CASE("greedy takes the largest logit, the lowest index on ties",
          "[sampler]") {
  Sampler s(opts(0));
  CHECK(s.sample(kLogits.data(), 6) == 1);
  std::vector<float> ties = {0.f, 3.f, 1.f, 3.f};
  CHECK(s.sample(ties.data(), 4) == 1);
  std::vector<float> one = {-2.f};
  CHECK(s.sample(one.data(), 1) == 0);
  std::vector<float> negInf = {-INFINITY, -5.f, -INFINITY};
  CHECK(s.sample(negInf.data(), 3) == 1);
  CHECK(argmaxLogits(kLogits.data(), 6) == 1);
}

TEST_CASE("temperature sampling follows softmax(logits / T)", "[sampler]") {
  for (double t : {0.5, 1.0, 2.0}) {
    Sampler s(opts(t, 0, 1.0, 11));
    std::vector<double> expected = softmax(kLogits, t);
    std::vector<double> dist = s.distribution(kLogits.data(), 6);
    std::vector<double> f = frequencies(s, kLogits, 40000);
    for (size_t i = 0; i < expected.size(); ++i) {
      CHECK(dist[i] == Approx(expected[i]).margin(1e-12));
      // 40000 draws: the standard error is below 0.0025.
      CHECK(std::fabs(f[i] - expected[i]) < 0.012);
    }
  }
}

TEST_CASE("top-k keeps the k largest logits", "[sampler]") {
  Sampler s(opts(1.0, 2, 1.0, 3));
  std::vector<double> f = frequencies(s, kLogits, 20000);
  // Candidates 1 (2.5) and 3 (2.0): p = e^0.5 / (e^0.5 + 1).
  double p1 = std::exp(0.5) / (std::exp(0.5) + 1);
  CHECK(std::fabs(f[1] - p1) < 0.015);
  CHECK(std::fabs(f[3] - (1 - p1)) < 0.015);
  CHECK(f[0] + f[2] + f[4] + f[5] == 0.0);
  // k = 1 is greedy; k >= vocab cuts nothing.
  Sampler k1(opts(5.0, 1));
  for (int i = 0; i < 100; ++i)
    CHECK(k1.sample(kLogits.data(), 6) == 1);
  Sampler big(opts(1.0, 100));
  std::vector<double> all = big.distribution(kLogits.data(), 6);
  std::vector<double> expected = softmax(kLogits, 1.0);
  for (size_t i = 0; i < 6; ++i)
    CHECK(all[i] == Approx(expected[i]).margin(1e-12));
  // Ties at the k-th value go to the lower index.
  std::vector<float> ties = {1.f, 3.f, 1.f, 1.f};
  std::vector<double> d = Sampler(opts(1.0, 2)).distribution(ties.data(), 4);
  CHECK(d[0] > 0);
  CHECK(d[2] == 0.0);
  CHECK(d[3] == 0.0);
}

TEST_CASE("top-p keeps the smallest nucleus reaching p", "[sampler]") {
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                          std::log(0.05f)};
  auto kept = [&](double p) {
    std::vector<double> d = Sampler(opts(1.0, 0, p)).distribution(l.data(), 4);
    std::set<int> ids;
    for (int i = 0; i < 4; ++i)
      if (d[size_t(i)] > 0)
        ids.insert(i);
    return ids;
  };
  CHECK(kept(0.4) == std::set<int>{0});
  CHECK(kept(0.5) == std::set<int>{0});
  CHECK(kept(0.6) == std::set<int>{0, 1});
  CHECK(kept(0.9) == std::set<int>{0, 1, 2});
  CHECK(kept(0.99) == std::set<int>{0, 1, 2, 3});
  CHECK(kept(1e-9) == std::set<int>{0});
  // Renormalised inside the nucleus, and drawn accordingly.
  Sampler s(opts(1.0, 0, 0.6, 5));
  std::vector<double> d = s.distribution(l.data(), 4);
  CHECK(d[0] == Approx(0.625).epsilon(1e-6));
  CHECK(d[1] == Approx(0.375).epsilon(1e-6));
  std::vector<double> f = frequencies(s, l, 20000);
  CHECK(std::fabs(f[0] - 0.625) < 0.015);
  CHECK(f[2] + f[3] == 0.0);
  // After top-k: top-k 3 then top-p 0.9 of {0.5, 0.3, 0.15} / 0.95.
  std::vector<double> both =
      Sampler(opts(1.0, 3, 0.9)).distribution(l.data(), 4);
  CHECK(both[2] > 0);
  CHECK(both[3] == 0.0);
}

TEST_CASE("a seed gives the same tokens; another seed other tokens",
          "[sampler]") {
  auto run = [&](uint64_t seed) {
    Sampler s(opts(1.0, 0, 1.0, seed));
    std::vector<int64_t> out;
    for (int i = 0; i < 64; ++i)
      out.push_back(s.sample(kLogits.data(), 6));
    return out;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
  // Pinned: xoshiro256** from splitmix64(0) gives the same bits everywhere.
  Rng rng(0);
  CHECK(rng.next() == 0x99ec5f36cb75f2b4ull);
  double u = Rng(1).uniform();
  CHECK(u >= 0.0);
  CHECK(u < 1.0);
}

TEST_CASE("a very low temperature is greedy; -inf is never drawn",
          "[sampler]") {
  Sampler cold(opts(1e-6, 0, 1.0, 9));
  for (int i = 0; i < 50; ++i)
    CHECK(cold.sample(kLogits.data(), 6) == 1);
  std::vector<float> l = {-INFINITY, 0.f, -INFINITY, 0.f};
  Sampler s(opts(1.0, 0, 1.0, 2));
  std::vector<double> f = frequencies(s, l, 4000);
  CHECK(f[0] + f[2] == 0.0);
  CHECK(std::fabs(f[1] - 0.5) < 0.05);
}

TEST_CASE("invalid options and logits are errors", "[sampler]") {
  CHECK_THROWS_WITH(Sampler(opts(-1)), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(Sampler(opts(NAN)), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(Sampler(opts(1, -2)), Catch::Contains("top-k -2"));
  CHECK_THROWS_WITH(Sampler(opts(1, 0, 0.0)), Catch::Contains("top-p"));
  CHECK_THROWS_WITH(Sampler(opts(1, 0, 1.5)), Catch::Contains("top-p"));
  CHECK(validateSamplingOptions(opts(0.7, 40, 0.95)).empty());

  Sampler s(opts(1.0));
  std::vector<float> nan = {0.f, NAN};
  CHECK_THROWS_WITH(s.sample(nan.data(), 2), Catch::Contains("logit 1 is NaN"));
  std::vector<float> inf = {INFINITY, 0.f};
  CHECK_THROWS_WITH(s.sample(inf.data(), 2), Catch::Contains("+inf"));
  std::vector<float> none = {-INFINITY, -INFINITY};
  CHECK_THROWS_WITH(s.sample(none.data(), 2), Catch::Contains("every logit"));
  CHECK_THROWS_WITH(Sampler(opts(0)).sample(none.data(), 2),
                    Catch::Contains("every logit"));
  CHECK_THROWS_WITH(s.sample(nullptr, 0), Catch::Contains("0 logits"));
}

TEST_CASE("stop criteria: a stop token or the maximum count", "[sampler]") {
  StopCriteria stop;
  stop.stopTokens = {2, 9};
  stop.maxNewTokens = 4;
  CHECK_FALSE(stop.done(5, 1));
  CHECK(stop.done(9, 1));
  CHECK(stop.done(2, 3));
  CHECK_FALSE(stop.done(5, 3));
  CHECK(stop.done(5, 4));
  StopCriteria none;
  none.maxNewTokens = 0;
  CHECK(none.done(1, 0));
}
