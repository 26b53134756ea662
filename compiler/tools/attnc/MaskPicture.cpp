//===- MaskPicture.cpp - The attention mask of a config as a picture ------===//
//
// The mask follows the schema's definitions (attnc.schema.json,
// AttentionPattern.mask and LayerSettings.window): a query sees the key
// groups of its pattern; `causal` keeps keys j <= i, `sliding_window` keeps
// 0 <= i - j < W, a layer window keeps |i - j| < W; positions are indices
// among the input groups; cache groups have no position and are visible to
// every query whose pattern lists them. Stats.cpp counts the same keys.
//
//===----------------------------------------------------------------------===//

#include "MaskPicture.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace attnc::cli {

std::vector<SequenceGroup> layoutSequence(const ModelConfig &c,
                                          int64_t seqLen) {
  // Key columns list every group (cache ones too) in `tokens` order.
  std::vector<SequenceGroup> groups;
  int64_t key = 0;
  for (const GroupSpan &span : layoutGroups(c, seqLen)) {
    SequenceGroup g;
    g.name = span.name;
    g.input = span.input;
    g.cache = span.cache;
    g.length = span.length;
    g.keyBegin = key;
    g.queryBegin = span.cache ? -1 : span.begin;
    key += g.length;
    groups.push_back(g);
  }
  return groups;
}

std::string formatLayerList(const std::vector<int64_t> &layers) {
  auto join = [](const std::vector<int64_t> &v) {
    std::string s;
    for (int64_t x : v)
      s += (s.empty() ? "" : ", ") + std::to_string(x);
    return s;
  };
  if (layers.size() < 3)
    return join(layers);
  int64_t step = layers[1] - layers[0];
  for (size_t i = 2; i < layers.size(); ++i)
    if (layers[i] - layers[i - 1] != step)
      return join(layers);
  if (step == 1)
    return std::to_string(layers.front()) + "-" + std::to_string(layers.back());
  return std::to_string(layers[0]) + ", " + std::to_string(layers[1]) +
         ", ..., " + std::to_string(layers.back());
}

std::string MaskPicture::title() const {
  std::string s = "layer";
  if (layers.size() != 1)
    s += "s";
  s += " " + formatLayerList(layers);
  std::string attention =
      window ? "window " + std::to_string(*window) : std::string("global");
  std::string detail =
      kinds.empty() || kinds == attention ? attention : kinds + ": " + attention;
  return s + " (" + detail + ")";
}

namespace {

/// Fills `picture.rows` from the config's patterns and the picture's window.
void drawMask(const ModelConfig &c, MaskPicture &p) {
  const int64_t s = p.cellSize;
  const int64_t nRows = (p.queries + s - 1) / s, nCols = (p.keys + s - 1) / s;
  std::vector<int64_t> counts(nRows * nCols, 0);

  for (const SequenceGroup &q : p.groups) {
    if (q.cache)
      continue;
    const AttentionPattern *pattern = nullptr;
    for (const AttentionPattern &pat : c.patterns)
      if (std::count(pat.queryTokens.begin(), pat.queryTokens.end(), q.name))
        pattern = &pat;
    if (!pattern)
      continue;
    std::vector<const SequenceGroup *> kvGroups;
    std::set<std::string> seen;
    for (const std::string &name : pattern->keyValueTokens)
      if (seen.insert(name).second)
        for (const SequenceGroup &k : p.groups)
          if (k.name == name)
            kvGroups.push_back(&k);

    for (int64_t i = q.queryBegin; i < q.queryBegin + q.length; ++i) {
      int64_t *row = &counts[(i / s) * nCols];
      for (const SequenceGroup *k : kvGroups) {
        int64_t lo = 0, hi = k->length; // offsets into the group
        if (!k->cache) {
          int64_t a = k->queryBegin, b = k->queryBegin + k->length;
          if (pattern->mask != MaskKind::Full)
            b = std::min(b, i + 1);
          if (pattern->mask == MaskKind::SlidingWindow && pattern->window)
            a = std::max(a, i - *pattern->window + 1);
          if (p.window) {
            a = std::max(a, i - *p.window + 1);
            b = std::min(b, i + *p.window);
          }
          lo = a - k->queryBegin;
          hi = b - k->queryBegin;
        }
        if (hi <= lo)
          continue;
        int64_t from = k->keyBegin + lo, to = k->keyBegin + hi; // columns
        for (int64_t cell = from / s; cell <= (to - 1) / s; ++cell)
          row[cell] += std::min(to, (cell + 1) * s) - std::max(from, cell * s);
      }
    }
  }

  p.rows.assign(nRows, std::string(nCols, '.'));
  for (int64_t r = 0; r < nRows; ++r) {
    int64_t height = std::min(s, p.queries - r * s);
    for (int64_t col = 0; col < nCols; ++col) {
      int64_t area = height * std::min(s, p.keys - col * s);
      int64_t n = counts[r * nCols + col];
      p.rows[r][col] = n == 0 ? '.' : n >= area ? '#' : '+';
    }
  }
}

std::string columnLabel(const SequenceGroup &g) {
  return g.cache ? g.name + " (cache)" : g.name;
}

/// Column labels: each group's name at its first cell, on the first line
/// where it does not run into the label before it. Returns the line of each
/// group (-1 for empty groups) and the number of lines.
std::vector<int> labelLines(const MaskPicture &p, int &numLines) {
  std::vector<size_t> ends; // per line: the column after its last label
  std::vector<int> lineOf;
  for (const SequenceGroup &g : p.groups) {
    if (g.length == 0) {
      lineOf.push_back(-1);
      continue;
    }
    size_t col = g.keyBegin / p.cellSize, line = 0;
    while (line < ends.size() && ends[line] + 1 > col)
      ++line;
    if (line == ends.size())
      ends.push_back(0);
    ends[line] = col + columnLabel(g).size();
    lineOf.push_back(static_cast<int>(line));
  }
  numLines = static_cast<int>(ends.size());
  return lineOf;
}

/// The text header: the label lines, then a line of '|' at each group start.
std::vector<std::string> columnHeader(const MaskPicture &p) {
  int numLines = 0;
  std::vector<int> lineOf = labelLines(p, numLines);
  std::vector<std::string> lines(numLines + 1);
  for (size_t i = 0; i < p.groups.size(); ++i) {
    if (lineOf[i] < 0)
      continue;
    size_t col = p.groups[i].keyBegin / p.cellSize;
    std::string &l = lines[lineOf[i]];
    l.resize(col, ' ');
    l += columnLabel(p.groups[i]);
    std::string &marks = lines.back();
    marks.resize(col, ' ');
    marks += "|";
  }
  return lines;
}

std::string xmlEscape(const std::string &s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += ch;
    }
  }
  return out;
}

} // namespace

std::vector<MaskPicture> buildMaskPictures(const ModelConfig &c,
                                           int64_t seqLen, int64_t maxWidth) {
  MaskPicture base;
  base.groups = layoutSequence(c, seqLen);
  for (const SequenceGroup &g : base.groups) {
    base.keys += g.length;
    if (!g.cache)
      base.queries += g.length;
  }
  maxWidth = std::max<int64_t>(maxWidth, 1);
  base.cellSize = std::max<int64_t>(1, (base.keys + maxWidth - 1) / maxWidth);

  std::vector<MaskPicture> pictures;
  std::map<std::optional<int64_t>, size_t> byWindow;
  std::vector<std::set<std::string>> kindNames;
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const LayerSettings &layer = c.layers[i];
    auto [it, inserted] = byWindow.try_emplace(layer.window, pictures.size());
    if (inserted) {
      pictures.push_back(base);
      pictures.back().window = layer.window;
      kindNames.emplace_back();
    }
    pictures[it->second].layers.push_back(static_cast<int64_t>(i));
    if (!layer.kind.empty() && kindNames[it->second].insert(layer.kind).second)
      pictures[it->second].kinds +=
          (pictures[it->second].kinds.empty() ? "" : ", ") + layer.kind;
  }
  if (pictures.empty())
    pictures.push_back(base);
  for (MaskPicture &p : pictures)
    drawMask(c, p);
  return pictures;
}

std::string renderMaskText(const std::vector<MaskPicture> &pictures) {
  std::ostringstream os;
  for (const MaskPicture &p : pictures) {
    size_t labelWidth = 0;
    for (const SequenceGroup &g : p.groups)
      if (!g.cache)
        labelWidth = std::max(labelWidth, g.name.size());
    std::string indent(2 + labelWidth + 2, ' ');
    os << "attention mask, " << p.title() << ": " << p.queries
       << " queries x " << p.keys << " keys";
    if (p.cellSize > 1)
      os << ", one cell = " << p.cellSize << " x " << p.cellSize
         << " positions";
    os << "\n  rows: query positions, columns: key positions; '#' attended, "
          "'.' masked, '+' partly attended cell\n";
    for (const SequenceGroup &g : p.groups)
      if (g.cache)
        os << "  '" << g.name << "' comes from the KV cache: keys only (drawn "
           << g.length << " wide), no query rows\n";
    for (const std::string &line : columnHeader(p))
      os << indent << line << "\n";
    std::vector<std::string> rowLabels(p.rows.size());
    for (const SequenceGroup &g : p.groups)
      if (!g.cache && g.length > 0 && rowLabels[g.queryBegin / p.cellSize].empty())
        rowLabels[g.queryBegin / p.cellSize] = g.name;
    for (size_t r = 0; r < p.rows.size(); ++r) {
      std::string label = rowLabels[r];
      label.resize(labelWidth, ' ');
      os << "  " << label << (rowLabels[r].empty() ? "  " : " |") << p.rows[r]
         << "\n";
    }
    os << "\n";
  }
  return os.str();
}

std::string renderMaskSvg(const std::vector<MaskPicture> &pictures,
                          const std::string &modelName) {
  const int font = 12, lineHeight = 15, margin = 10;
  std::ostringstream body;
  double width = 0, y = margin + lineHeight;
  body << "<text x=\"" << margin << "\" y=\"" << y
       << "\" font-weight=\"bold\">" << xmlEscape(modelName)
       << ": attention mask</text>\n";
  y += lineHeight / 2.0;
  for (const MaskPicture &p : pictures) {
    const int64_t nCols = p.rows.empty() ? 0 : p.rows[0].size();
    const double cell = std::clamp(640.0 / std::max<int64_t>(nCols, 1), 4.0, 16.0);
    size_t labelWidth = 0;
    for (const SequenceGroup &g : p.groups)
      labelWidth = std::max(labelWidth, columnLabel(g).size());
    const double left = margin + 0.62 * font * labelWidth + 8;
    int numLines = 0;
    std::vector<int> lineOf = labelLines(p, numLines);

    y += lineHeight;
    body << "<text x=\"" << margin << "\" y=\"" << y << "\">"
         << xmlEscape(p.title()) << ", " << p.queries << " x " << p.keys
         << (p.cellSize > 1 ? ", cell " + std::to_string(p.cellSize) + " x " +
                                  std::to_string(p.cellSize)
                            : std::string())
         << "</text>\n";
    // Column labels, staggered like the text header.
    for (size_t i = 0; i < p.groups.size(); ++i) {
      if (lineOf[i] < 0)
        continue;
      size_t col = p.groups[i].keyBegin / p.cellSize;
      body << "<text x=\"" << left + col * cell << "\" y=\""
           << y + lineHeight * (lineOf[i] + 1) << "\">"
           << xmlEscape(columnLabel(p.groups[i])) << "</text>\n";
    }
    const double top = y + lineHeight * numLines + 6;
    for (size_t r = 0; r < p.rows.size(); ++r)
      for (int64_t col = 0; col < nCols; ++col) {
        char ch = p.rows[r][col];
        const char *fill = ch == '#' ? "#1f4e8c" : ch == '+' ? "#8fb3de" : "#f2f2f2";
        body << "<rect x=\"" << left + col * cell << "\" y=\"" << top + r * cell
             << "\" width=\"" << cell << "\" height=\"" << cell << "\" fill=\""
             << fill << "\"><title>" << ch << "</title></rect>\n";
      }
    const double right = left + nCols * cell, bottom = top + p.rows.size() * cell;
    // Group boundaries and row labels.
    for (const SequenceGroup &g : p.groups) {
      double x = left + double(g.keyBegin) / p.cellSize * cell;
      if (g.keyBegin > 0)
        body << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x
             << "\" y2=\"" << bottom << "\" stroke=\"#d62728\"/>\n";
      if (g.cache || g.length == 0)
        continue;
      double gy = top + double(g.queryBegin) / p.cellSize * cell;
      if (g.queryBegin > 0)
        body << "<line x1=\"" << left << "\" y1=\"" << gy << "\" x2=\"" << right
             << "\" y2=\"" << gy << "\" stroke=\"#d62728\"/>\n";
      body << "<text x=\"" << left - 6 << "\" y=\"" << gy + font
           << "\" text-anchor=\"end\">" << xmlEscape(g.name) << "</text>\n";
    }
    body << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\""
         << right - left << "\" height=\"" << bottom - top
         << "\" fill=\"none\" stroke=\"#333\"/>\n";
    width = std::max(width, right + margin);
    y = bottom + lineHeight;
  }
  y += lineHeight;
  const std::string legend = "dark: attended, light blue: partly attended "
                             "cell, grey: masked; rows are queries, columns keys";
  body << "<text x=\"" << margin << "\" y=\"" << y << "\">" << legend
       << "</text>\n";
  width = std::max(width, 2 * margin + 0.62 * font * legend.size());
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
      << "\" height=\"" << y + margin << "\" font-family=\"monospace\" font-size=\""
      << font << "\" shape-rendering=\"crispEdges\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << body.str() << "</svg>\n";
  return svg.str();
}

nlohmann::ordered_json maskJson(const MaskPicture &p) {
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const SequenceGroup &g : p.groups)
    groups.push_back({{"name", g.name},
                      {"cache", g.cache},
                      {"key_begin", g.keyBegin},
                      {"query_begin", g.cache ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(g.queryBegin)},
                      {"length", g.length}});
  return {{"layers", p.layers},
          {"kinds", p.kinds},
          {"window", p.window ? nlohmann::ordered_json(*p.window)
                              : nlohmann::ordered_json(nullptr)},
          {"queries", p.queries},
          {"keys", p.keys},
          {"cell_size", p.cellSize},
          {"groups", groups},
          {"rows", p.rows}};
}

} // namespace attnc::cli
