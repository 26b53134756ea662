//===- MaskPicture.h - The attention mask of a config as a picture -*- C++ -*-===//
//
// Lays the token groups out as one sequence and draws which keys each query
// sees: rows are query positions (the input groups), columns are key
// positions (every group; cache groups are keys only, visible to every
// query). Large masks are downsampled into cells of s x s positions:
// '#' every pair attended, '.' none, '+' some. One picture per distinct
// layer window (a local layer's mask differs from a global one's).
// Used by `attnc inspect` (text, SVG and JSON).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_ATTNC_MASKPICTURE_H
#define ATTNC_TOOLS_ATTNC_MASKPICTURE_H

#include "attnc/Schema/Config.h"
#include "attnc/Schema/Stats.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnc::cli {

/// One token group placed in the sequence.
struct SequenceGroup {
  std::string name;
  TokenInput input = TokenInput::Tokens;
  bool cache = false;       ///< keys only (size null)
  int64_t length = 0;       ///< dynamic groups share seqLen; cache: seqLen
  int64_t keyBegin = 0;     ///< first key column
  int64_t queryBegin = -1;  ///< first input position (-1 for cache groups)
};

/// The groups of `config` for a sequence of `seqLen` input tokens: fixed
/// groups keep their size, dynamic groups share the rest (earlier groups
/// take the remainder), cache groups get seqLen keys (as in Stats.cpp).
std::vector<SequenceGroup> layoutSequence(const ModelConfig &config,
                                          int64_t seqLen);

/// The mask of the layers that share one window.
struct MaskPicture {
  std::vector<int64_t> layers;   ///< layer indices drawn by this picture
  std::string kinds;             ///< their layer kind names, "" if none
  std::optional<int64_t> window; ///< the layers' window (none: global)
  int64_t cellSize = 1;          ///< positions per cell, both axes
  int64_t queries = 0, keys = 0; ///< positions (rows, columns)
  std::vector<SequenceGroup> groups;
  std::vector<std::string> rows; ///< one string of '#', '+', '.' per row

  /// "all 12 layers" or "layers 0, 2, ..., 24" plus kind and window.
  std::string title() const;
};

/// One picture per distinct layer window, at most `maxWidth` cells wide.
std::vector<MaskPicture> buildMaskPictures(const ModelConfig &config,
                                           int64_t seqLen, int64_t maxWidth);

/// The pictures as text: legend, group labels over the columns and beside
/// the rows, one line per row of cells.
std::string renderMaskText(const std::vector<MaskPicture> &pictures);

/// The same pictures as an SVG image: one rect per cell, group labels and
/// boundaries, one panel per picture stacked vertically.
std::string renderMaskSvg(const std::vector<MaskPicture> &pictures,
                          const std::string &modelName);

nlohmann::ordered_json maskJson(const MaskPicture &picture);

/// "0-11", "0, 2, ..., 24", "3, 7": a compact list of layer indices.
std::string formatLayerList(const std::vector<int64_t> &layers);

} // namespace attnc::cli

#endif // ATTNC_TOOLS_ATTNC_MASKPICTURE_H
