//===- Incremental.cpp - KV-cached prefill and decode in the reference ----===//
//
// Semantics: attnc/Reference/Incremental.h.
//
//===----------------------------------------------------------------------===//

#include "attnc/Reference/Incremental.h"

#include "Internal.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace attnc::reference {

using namespace detail;

namespace {

[[noreturn]] void fail(const std::string &message) {
  throw ReferenceError(message);
}

std::string str(int64_t v) { return std::to_string(v); }

/// One layer's ring of slots for every row.
struct LayerCache {
  int64_t capacity = 0, width = 0;
  std::vector<float> k, v;       ///< [batch, capacity, width]
  std::vector<int64_t> position; ///< [batch, capacity], -1 empty
  std::vector<int32_t> group;    ///< [batch, capacity], index into tokens
};

const AttentionPattern &patternOf(const ModelConfig &config,
                                  const std::string &group) {
  const AttentionPattern *pattern = nullptr;
  for (const AttentionPattern &pat : config.patterns)
    if (std::count(pat.queryTokens.begin(), pat.queryTokens.end(), group))
      pattern = &pat;
  if (!pattern)
    fail("token group '" + group + "' is a query in no attention pattern");
  return *pattern;
}

/// Whether a query at position p sees a key at position q.
bool visible(const AttentionPattern &pattern, const LayerSettings &layer,
             int64_t p, int64_t q) {
  if (p < 0 || q < 0)
    return false;
  if (pattern.mask == MaskKind::Causal && q > p)
    return false;
  if (pattern.mask == MaskKind::SlidingWindow &&
      (q > p || p - q >= pattern.window.value_or(INT64_MAX)))
    return false;
  return !layer.window || std::llabs(p - q) < *layer.window;
}

/// ALiBi's distance term between a query at position p and a key at q:
/// -|p - q| under full patterns, -(p - q) otherwise.
double bias(const AttentionPattern &pattern, int64_t p, int64_t q) {
  double dist = double(p) - double(q);
  return pattern.mask == MaskKind::Full ? -std::fabs(dist) : -dist;
}

/// Whether a query at position p sees a key at position q under an explicit
/// attention mask whose entry for the pair is `allowed`.
bool visibleMasked(bool allowed, const LayerSettings &layer, int64_t p,
                   int64_t q) {
  if (!allowed || p < 0 || q < 0)
    return false;
  return !layer.window || std::llabs(p - q) < *layer.window;
}

} // namespace

struct ReferenceSession::State {
  const ModelConfig &config;
  Weights weights;
  int64_t batch, length, end = 0;
  std::vector<LayerCache> layers;
  std::vector<int64_t> lastPosition; ///< per row, -1 before any token
  std::vector<bool> paddedAfterStart;
  std::vector<std::set<std::string>> writtenFixed; ///< fixed groups per row
  /// Per row: group -> one LayerKV per layer.
  std::vector<std::map<std::string, std::vector<LayerKV>>> cacheGroups;
  std::vector<double> slopes;
  std::string decodeGroup;

  State(const ModelConfig &c, const runtime::WeightSet &w)
      : config(c), weights(w) {}

  StepOutputs step(const std::vector<ReferenceInputs> &rows,
                   const StepOptions &options);
  /// `mask`: the row's explicit [n, length] attention mask, or null.
  Matrix attendRow(int64_t layer, int64_t row, const Matrix &x,
                   const Sequence &seq, const std::vector<int64_t> &positions,
                   const uint8_t *mask, LayerKV *kvOut);
};

ReferenceSession::ReferenceSession(const ModelConfig &config,
                                   const runtime::WeightSet &weights,
                                   int64_t batch, int64_t cacheLength)
    : state_(std::make_unique<State>(config, weights)) {
  if (config.output.kind == OutputKind::Classifier)
    fail("incremental runs need output kind logits or hidden_states; this "
         "config has a classifier");
  if (batch < 1)
    fail("batch size " + str(batch) + " is invalid; expected >= 1");
  if (cacheLength < 1)
    fail("cache length " + str(cacheLength) + " is invalid; expected >= 1");
  if (config.maxSeqLen > 0 && cacheLength > config.maxSeqLen)
    fail("cache length " + str(cacheLength) + " exceeds max_seq_len " +
         str(config.maxSeqLen));
  checkWeights(config, state_->weights);
  State &s = *state_;
  s.batch = batch;
  s.length = cacheLength;
  const int64_t width = config.attention.numKvHeads * config.attention.headDim;
  for (const LayerSettings &layer : config.layers) {
    LayerCache c;
    c.capacity = layer.window ? std::min(*layer.window, cacheLength)
                              : cacheLength;
    c.width = width;
    c.k.assign(size_t(batch * c.capacity * width), 0.f);
    c.v = c.k;
    c.position.assign(size_t(batch * c.capacity), -1);
    c.group.assign(size_t(batch * c.capacity), -1);
    s.layers.push_back(std::move(c));
  }
  s.lastPosition.assign(size_t(batch), -1);
  s.paddedAfterStart.assign(size_t(batch), false);
  s.writtenFixed.resize(size_t(batch));
  s.cacheGroups.resize(size_t(batch));
  if (config.position.kind == PositionKind::Alibi)
    s.slopes = alibiSlopes(config.attention.numHeads);
  for (const TokenSpec &t : config.tokens)
    if (t.input == TokenInput::Tokens)
      s.decodeGroup = t.name;
}

ReferenceSession::~ReferenceSession() = default;
ReferenceSession::ReferenceSession(ReferenceSession &&) noexcept = default;

int64_t ReferenceSession::batch() const { return state_->batch; }
int64_t ReferenceSession::cacheLength() const { return state_->length; }
int64_t ReferenceSession::end() const { return state_->end; }
int64_t ReferenceSession::nextPosition(int64_t row) const {
  return state_->lastPosition.at(size_t(row)) + 1;
}
int64_t ReferenceSession::capacity(int64_t layer) const {
  return state_->layers.at(size_t(layer)).capacity;
}
const std::string &ReferenceSession::decodeGroup() const {
  if (state_->decodeGroup.empty())
    fail("the config has no token group with input 'tokens' to decode");
  return state_->decodeGroup;
}

void ReferenceSession::setCacheGroup(int64_t row, const std::string &group,
                                     std::vector<LayerKV> kv) {
  State &s = *state_;
  if (row < 0 || row >= s.batch)
    fail("row " + str(row) + " is out of range; the batch has " +
         str(s.batch) + " rows");
  const TokenSpec *t = s.config.findTokens(group);
  if (!t || !t->fromCache())
    fail("'" + group + "' is not a cache token group (size null) of the "
         "config");
  // The same checks as a full run's cache input.
  const int64_t width = s.config.attention.numKvHeads *
                        s.config.attention.headDim;
  if (int64_t(kv.size()) != s.config.numLayers)
    fail("cache group '" + group + "' has keys/values for " +
         str(int64_t(kv.size())) + " layers; expected " +
         str(s.config.numLayers));
  for (size_t l = 0; l < kv.size(); ++l)
    if (kv[l].k.cols != width || kv[l].v.cols != width ||
        kv[l].k.rows != kv[0].k.rows || kv[l].v.rows != kv[l].k.rows)
      fail("cache group '" + group + "' layer " + str(int64_t(l)) +
           ": K is [" + str(kv[l].k.rows) + ", " + str(kv[l].k.cols) +
           "] and V [" + str(kv[l].v.rows) + ", " + str(kv[l].v.cols) +
           "]; expected both [" + str(kv[0].k.rows) + ", " + str(width) +
           "] (num_kv_heads x head_dim)");
  s.cacheGroups[size_t(row)][group] = std::move(kv);
}

void ReferenceSession::reset() {
  State &s = *state_;
  for (LayerCache &c : s.layers) {
    std::fill(c.position.begin(), c.position.end(), -1);
    std::fill(c.group.begin(), c.group.end(), -1);
  }
  s.end = 0;
  std::fill(s.lastPosition.begin(), s.lastPosition.end(), -1);
  std::fill(s.paddedAfterStart.begin(), s.paddedAfterStart.end(), false);
  for (auto &w : s.writtenFixed)
    w.clear();
}

StepOutputs ReferenceSession::prefill(const std::vector<ReferenceInputs> &rows,
                                      const StepOptions &options) {
  State &s = *state_;
  std::vector<ReferenceInputs> withoutCache = rows;
  if (rows.size() == size_t(s.batch))
    for (size_t b = 0; b < rows.size(); ++b) {
      for (const auto &[name, kv] : rows[b].cache)
        setCacheGroup(int64_t(b), name, kv);
      withoutCache[b].cache.clear();
    }
  return s.step(withoutCache, options);
}

StepOutputs ReferenceSession::decode(const std::vector<int64_t> &tokens,
                                     const std::vector<int64_t> &positions,
                                     const StepOptions &options) {
  State &s = *state_;
  if (s.end == 0)
    fail("decode before prefill: the cache is empty; prefill the prompt "
         "first");
  if (int64_t(tokens.size()) != s.batch)
    fail(str(int64_t(tokens.size())) + " decode tokens given; the session "
         "has batch " + str(s.batch) + " (one token per row)");
  if (!positions.empty() && positions.size() != tokens.size())
    fail(str(int64_t(positions.size())) + " decode positions given for " +
         str(int64_t(tokens.size())) + " rows; expected one per row");
  std::vector<ReferenceInputs> rows(tokens.size());
  for (size_t b = 0; b < tokens.size(); ++b) {
    rows[b].tokens[decodeGroup()] = {tokens[b]};
    if (!positions.empty())
      rows[b].positions = {positions[b]};
  }
  return s.step(rows, options);
}

StepOutputs ReferenceSession::State::step(
    const std::vector<ReferenceInputs> &rows, const StepOptions &options) {
  if (int64_t(rows.size()) != batch)
    fail(str(int64_t(rows.size())) + " rows given; the session has batch " +
         str(batch));

  // Check everything before anything is written.
  std::vector<Sequence> seqs;
  std::vector<std::vector<int64_t>> positions(rows.size());
  for (size_t b = 0; b < rows.size(); ++b) {
    Sequence seq = layoutStep(config, rows[b], end == 0);
    if (b > 0) {
      bool same = seq.layout.size() == seqs[0].layout.size();
      for (size_t g = 0; same && g < seq.layout.size(); ++g)
        same = seq.layout[g].name == seqs[0].layout[g].name &&
               seq.layout[g].length == seqs[0].layout[g].length;
      if (!same)
        fail("row " + str(int64_t(b)) + " gives other token groups or "
             "lengths than row 0; every row of a step needs the same (pad "
             "short rows with position -1)");
    }
    for (const GroupRange &g : seq.layout) {
      const TokenSpec &t = *config.findTokens(g.name);
      if (t.size && writtenFixed[b].count(g.name))
        fail("token group '" + g.name + "' (size " + str(*t.size) +
             ") of row " + str(int64_t(b)) + " is already in the cache");
    }
    for (const TokenSpec &t : config.tokens)
      if (t.fromCache() && !cacheGroups[b].count(t.name))
        fail("cache group '" + t.name + "' has no keys/values for row " +
             str(int64_t(b)) + "; give them (setCacheGroup or the step's "
             "cache inputs) first");
    std::vector<int64_t> &pos = positions[b];
    if (rows[b].positions.empty()) {
      for (int64_t i = 0; i < seq.length; ++i)
        pos.push_back(lastPosition[b] + 1 + i);
    } else if (int64_t(rows[b].positions.size()) != seq.length) {
      fail(str(int64_t(rows[b].positions.size())) + " positions given for " +
           str(seq.length) + " tokens of row " + str(int64_t(b)) +
           "; expected one per token");
    } else {
      pos = rows[b].positions;
    }
    int64_t last = lastPosition[b];
    bool padded = paddedAfterStart[b];
    bool ring = std::any_of(layers.begin(), layers.end(),
                            [&](const LayerCache &c) {
                              return c.capacity < length;
                            });
    for (size_t i = 0; i < pos.size(); ++i) {
      int64_t p = pos[i];
      std::string where = " (row " + str(int64_t(b)) + ", token " +
                          str(int64_t(i)) + ")";
      if (p < -1)
        fail("position " + str(p) + where + " is invalid; expected >= 0, or "
             "-1 for padding");
      if (p == -1) {
        padded |= last >= 0;
        continue;
      }
      if (p <= last)
        fail("position " + str(p) + where + " does not follow the row's " +
             "previous position " + str(last) + "; positions must increase");
      if (config.position.kind == PositionKind::Learned &&
          p >= config.position.size)
        fail("position " + str(p) + where + " is past the learned position "
             "table (" + str(config.position.size) + " rows)");
      if (padded && ring)
        fail("row " + str(int64_t(b)) + " was padded after its first token; "
             "with sliding-window layers (ring buffers) a row must stay "
             "contiguous: pad only before its first token");
      last = p;
    }
    seqs.push_back(std::move(seq));
  }
  const int64_t n = seqs[0].length;
  if (end + n > length)
    fail("KV cache overflow: the cache holds " + str(length) + " tokens, " +
         str(end) + " are written and this step adds " + str(n));
  const auto &mask = options.attentionMask;
  if (!mask.empty()) {
    if (mask.size() != rows.size())
      fail("the attention mask has " + str(int64_t(mask.size())) +
           " rows; expected one per batch row (" + str(batch) + ")");
    for (size_t b = 0; b < mask.size(); ++b)
      if (int64_t(mask[b].size()) != n * length)
        fail("the attention mask of row " + str(int64_t(b)) + " has " +
             str(int64_t(mask[b].size())) + " entries; expected [" + str(n) +
             ", " + str(length) + "] (step tokens x cache length) = " +
             str(n * length));
  }

  StepOutputs out;
  out.kv.resize(options.returnKV ? rows.size() : 0);
  for (size_t b = 0; b < rows.size(); ++b) {
    Sequence &seq = seqs[b];
    // Embedding lookups need a position; padding takes 0.
    seq.positions = positions[b];
    for (int64_t &p : seq.positions)
      p = std::max<int64_t>(p, 0);
    Matrix x = embed(config, weights, rows[b], seq);
    if (options.returnKV)
      out.kv[b].resize(layers.size());
    for (int64_t l = 0; l < config.numLayers; ++l)
      block(config, weights, l, x, [&](const Matrix &in) {
        return attendRow(l, int64_t(b), in, seq, positions[b],
                         mask.empty() ? nullptr : mask[b].data(),
                         options.returnKV ? &out.kv[b][size_t(l)] : nullptr);
      });
    if (options.lastOnly) {
      int64_t i = n - 1;
      while (i > 0 && positions[b][size_t(i)] < 0)
        --i;
      Matrix one(1, x.cols);
      std::copy(x.row(i), x.row(i) + x.cols, one.row(0));
      x = std::move(one);
    }
    ReferenceOutputs o;
    finishOutputs(config, weights, std::move(x), o);
    out.logits.push_back(std::move(o.logits));
    out.hiddenStates.push_back(std::move(o.hiddenStates));
    for (const GroupRange &g : seq.layout)
      if (config.findTokens(g.name)->size)
        writtenFixed[b].insert(g.name);
    for (int64_t p : positions[b]) {
      if (p >= 0)
        lastPosition[b] = p;
      else if (lastPosition[b] >= 0)
        paddedAfterStart[b] = true;
    }
  }
  end += n;
  return out;
}

Matrix ReferenceSession::State::attendRow(int64_t layer, int64_t row,
                                          const Matrix &x, const Sequence &seq,
                                          const std::vector<int64_t> &positions,
                                          const uint8_t *mask,
                                          LayerKV *kvOut) {
  const LayerSettings &settings = config.layers[size_t(layer)];
  LayerCache &c = layers[size_t(layer)];
  const int64_t H = config.attention.numHeads, hd = config.attention.headDim;
  Matrix q, k, v;
  projectQKV(config, weights, layer, x, positions, q, k, v);

  const int64_t base = row * c.capacity;
  Matrix out(x.rows, H * hd);
  std::vector<KeyRef> keys;
  for (int64_t i = 0; i < x.rows; ++i) {
    const std::string &group = seq.layout[seq.groupOf[size_t(i)]].name;
    const AttentionPattern &pattern = patternOf(config, group);
    const int64_t p = positions[size_t(i)];
    keys.clear();
    std::set<std::string> seen;
    for (const std::string &name : pattern.keyValueTokens) {
      if (p < 0 || !seen.insert(name).second)
        continue;
      auto cached = cacheGroups[size_t(row)].find(name);
      if (cached != cacheGroups[size_t(row)].end()) {
        const LayerKV &kv = cached->second[size_t(layer)];
        for (int64_t j = 0; j < kv.k.rows; ++j)
          keys.push_back({kv.k.row(j), kv.v.row(j), 0.0});
        continue;
      }
      if (mask) // The explicit mask decides below, over every group.
        continue;
      int32_t groupIndex = int32_t(config.findTokens(name) -
                                   config.tokens.data());
      // Written slots, oldest first, then this step's tokens.
      int64_t written = std::min(end, c.capacity);
      for (int64_t t = end - written; t < end; ++t) {
        int64_t slot = base + t % c.capacity;
        int64_t q = c.position[size_t(slot)];
        if (c.group[size_t(slot)] != groupIndex ||
            !visible(pattern, settings, p, q))
          continue;
        keys.push_back({&c.k[size_t(slot * c.width)],
                        &c.v[size_t(slot * c.width)], bias(pattern, p, q)});
      }
      for (int64_t j = 0; j < x.rows; ++j) {
        int64_t q = positions[size_t(j)];
        if (seq.layout[seq.groupOf[size_t(j)]].name != name ||
            !visible(pattern, settings, p, q))
          continue;
        keys.push_back({k.row(j), v.row(j), bias(pattern, p, q)});
      }
    }
    if (mask) {
      // Session token s is slot s % capacity (written, oldest first), then
      // this step's tokens end .. end + n - 1.
      const uint8_t *allowed = mask + i * length;
      int64_t written = std::min(end, c.capacity);
      for (int64_t t = end - written; t < end; ++t) {
        int64_t slot = base + t % c.capacity;
        int64_t q = c.position[size_t(slot)];
        if (visibleMasked(allowed[t] != 0, settings, p, q))
          keys.push_back({&c.k[size_t(slot * c.width)],
                          &c.v[size_t(slot * c.width)], bias(pattern, p, q)});
      }
      for (int64_t j = 0; j < x.rows; ++j) {
        int64_t q = positions[size_t(j)];
        if (visibleMasked(allowed[end + j] != 0, settings, p, q))
          keys.push_back({k.row(j), v.row(j), bias(pattern, p, q)});
      }
    }
    attendQuery(config, q.row(i), keys, slopes, out.row(i));
  }

  // Write this step's keys and values (the last `capacity` of them stay).
  for (int64_t j = 0; j < x.rows; ++j) {
    int64_t slot = base + (end + j) % c.capacity;
    std::copy(k.row(j), k.row(j) + c.width, &c.k[size_t(slot * c.width)]);
    std::copy(v.row(j), v.row(j) + c.width, &c.v[size_t(slot * c.width)]);
    c.position[size_t(slot)] = positions[size_t(j)];
    c.group[size_t(slot)] = int32_t(
        config.findTokens(seq.layout[seq.groupOf[size_t(j)]].name) -
        config.tokens.data());
  }
  if (kvOut) {
    kvOut->k = std::move(k);
    kvOut->v = std::move(v);
  }
  const std::string p = "layers." + std::to_string(layer) + ".attn.";
  return linear(out, weights.get(p + "o.weight"), weights.find(p + "o.bias"));
}

std::vector<std::vector<int64_t>>
generate(ReferenceSession &session, const std::vector<ReferenceInputs> &prompt,
         runtime::Sampler &sampler, const runtime::StopCriteria &stop) {
  const int64_t batch = session.batch();
  std::vector<std::vector<int64_t>> produced(static_cast<size_t>(batch));
  std::vector<bool> finished(size_t(batch), stop.maxNewTokens <= 0);
  StepOptions last;
  last.lastOnly = true;
  StepOutputs step = session.prefill(prompt, last);
  while (true) {
    std::vector<int64_t> next(size_t(batch), 0), positions(size_t(batch), -1);
    bool any = false;
    for (int64_t b = 0; b < batch; ++b) {
      if (finished[size_t(b)])
        continue;
      const Matrix &logits = step.logits[size_t(b)];
      if (logits.rows == 0)
        fail("generation needs output kind logits");
      int64_t token = sampler.sample(logits.row(0), logits.cols);
      produced[size_t(b)].push_back(token);
      finished[size_t(b)] =
          stop.done(token, int64_t(produced[size_t(b)].size()));
      next[size_t(b)] = token;
      positions[size_t(b)] = session.nextPosition(b);
      any = true;
    }
    bool more = false;
    for (int64_t b = 0; b < batch; ++b)
      more |= !finished[size_t(b)];
    if (!any || !more)
      break;
    step = session.decode(next, positions, last);
  }
  return produced;
}

} // namespace attnc::reference
