// Charts to PNG: line plots (training curves), scatter-plot matrices and
// per-dimension histograms of several groups (original vs generated shapes).
#include "shim_internal.h"

#include <vtkAxis.h>
#include <vtkChartLegend.h>
#include <vtkChartMatrix.h>
#include <vtkChartXY.h>
#include <vtkContextScene.h>
#include <vtkContextView.h>
#include <vtkDoubleArray.h>
#include <vtkPen.h>
#include <vtkPlot.h>
#include <vtkPlotPoints.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkTable.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkVector.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

struct cvtk_figure {
  struct Group {
    std::string name;
    int64_t rows = 0, columns = 0;
    std::vector<double> values; // row-major
    double at(int64_t r, int64_t c) const { return values[size_t(r * columns + c)]; }
  };
  cvtk_figure_kind kind;
  std::string title;
  std::vector<Group> groups;
  std::map<int32_t, std::string> labels;
  bool logY = false;

  std::string label(int32_t index) const {
    auto it = labels.find(index);
    return it != labels.end() ? it->second : "dim " + std::to_string(index + 1);
  }
};

namespace {

// Tableau 10: distinguishable, and the first two read well on white.
const unsigned char palette[][3] = {{31, 119, 180}, {214, 39, 40},  {44, 160, 44},
                                    {255, 127, 14}, {148, 103, 189}, {140, 86, 75}};
const unsigned char *colour(size_t group) { return palette[group % 6]; }

vtkSmartPointer<vtkTable> table(const std::string &xName, const std::vector<double> &x,
                                const std::string &yName, const std::vector<double> &y) {
  auto result = vtkSmartPointer<vtkTable>::New();
  for (auto *column : {&x, &y}) {
    auto array = vtkSmartPointer<vtkDoubleArray>::New();
    array->SetName(column == &x ? xName.c_str() : yName.c_str());
    array->SetNumberOfValues(vtkIdType(column->size()));
    std::copy(column->begin(), column->end(), array->GetPointer(0));
    result->AddColumn(array);
  }
  return result;
}

void addLine(vtkChartXY *chart, const std::string &name, const std::vector<double> &x,
             const std::vector<double> &y, size_t group, float width) {
  if (x.empty()) return;
  vtkPlot *plot = chart->AddPlot(vtkChart::LINE);
  // A line through one point draws nothing (a one-epoch training curve): mark it.
  auto *line = vtkPlotPoints::SafeDownCast(plot); // vtkPlotLine is a vtkPlotPoints
  if (line && x.size() == 1) {
    line->SetMarkerStyle(vtkPlotPoints::CIRCLE);
    line->SetMarkerSize(10);
  }
  plot->SetInputData(table("x", x, name, y), 0, 1);
  const unsigned char *c = colour(group);
  plot->SetColor(c[0], c[1], c[2], 255);
  plot->SetWidth(width);
  plot->SetLabel(name);
}

// A density histogram of column `column` of every group drawn as step lines on
// shared bins, so groups of very different sizes (40 vs 4960) compare.
void addDensities(vtkChartXY *chart, const cvtk_figure &figure, int64_t column) {
  double lo = INFINITY, hi = -INFINITY;
  for (auto &g : figure.groups)
    for (int64_t r = 0; r < g.rows; ++r) {
      double v = g.at(r, column);
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  if (!(hi >= lo)) return;
  if (hi == lo) lo -= 0.5, hi += 0.5;
  const int bins = 24;
  double width = (hi - lo) / bins;
  for (size_t gi = 0; gi < figure.groups.size(); ++gi) {
    auto &g = figure.groups[gi];
    std::vector<double> counts(bins, 0);
    double total = 0;
    for (int64_t r = 0; r < g.rows; ++r) {
      double v = g.at(r, column);
      if (!std::isfinite(v)) continue;
      int b = std::min(bins - 1, int((v - lo) / width));
      counts[size_t(b)] += 1, total += 1;
    }
    if (total == 0) continue;
    std::vector<double> x, y;
    for (int b = 0; b < bins; ++b) {
      double density = counts[size_t(b)] / (total * width);
      x.push_back(lo + b * width), y.push_back(density);
      x.push_back(lo + (b + 1) * width), y.push_back(density);
    }
    addLine(chart, g.name, x, y, gi, 2.0f);
  }
}

void styleAxis(vtkAxis *axis, const std::string &title, bool labels, int fontSize) {
  axis->SetTitle(title);
  axis->SetLabelsVisible(labels);
  axis->GetTitleProperties()->SetFontSize(fontSize);
  axis->GetLabelProperties()->SetFontSize(std::max(8, fontSize - 3));
  axis->GetTitleProperties()->SetColor(0, 0, 0);
}

void addTitle(vtkRenderer *renderer, const std::string &title, int height) {
  if (title.empty()) return;
  auto text = vtkSmartPointer<vtkTextActor>::New();
  text->SetInput(title.c_str());
  auto *p = text->GetTextProperty();
  p->SetColor(0, 0, 0);
  p->SetFontSize(std::max(12, height / 45));
  p->BoldOn();
  p->SetJustificationToCentered();
  p->SetVerticalJustificationToTop();
  text->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  text->GetPositionCoordinate()->SetValue(0.5, 0.985);
  renderer->AddActor2D(text);
}

void buildLines(const cvtk_figure &figure, vtkContextView *view, int height) {
  auto chart = vtkSmartPointer<vtkChartXY>::New();
  view->GetScene()->AddItem(chart);
  for (size_t gi = 0; gi < figure.groups.size(); ++gi) {
    auto &g = figure.groups[gi];
    std::vector<double> x, y;
    for (int64_t r = 0; r < g.rows; ++r) {
      double xv = g.at(r, 0), yv = g.at(r, 1);
      // A log axis cannot show zero or negative values; drop them rather than fail.
      if (!std::isfinite(xv) || !std::isfinite(yv) || (figure.logY && yv <= 0)) continue;
      x.push_back(xv), y.push_back(yv);
    }
    addLine(chart, g.name, x, y, gi, 2.5f);
  }
  int font = std::max(11, height / 40);
  chart->SetTitle(figure.title);
  chart->GetTitleProperties()->SetFontSize(font + 2);
  chart->GetTitleProperties()->SetColor(0, 0, 0);
  styleAxis(chart->GetAxis(vtkAxis::BOTTOM), figure.label(0), true, font);
  styleAxis(chart->GetAxis(vtkAxis::LEFT), figure.label(1), true, font);
  if (figure.logY) chart->GetAxis(vtkAxis::LEFT)->SetLogScale(true);
  chart->SetShowLegend(figure.groups.size() > 1 || !figure.groups.empty());
  chart->GetLegend()->SetHorizontalAlignment(vtkChartLegend::RIGHT);
  chart->GetLegend()->SetVerticalAlignment(vtkChartLegend::TOP);
  chart->GetLegend()->SetLabelSize(font);
}

void buildScatterMatrix(const cvtk_figure &figure, vtkContextView *view, int width, int height) {
  int64_t k = figure.groups.front().columns;
  auto matrix = vtkSmartPointer<vtkChartMatrix>::New();
  view->GetScene()->AddItem(matrix);
  matrix->SetSize(vtkVector2i(int(k), int(k)));
  matrix->SetBorders(int(width * 0.06), int(height * 0.06), int(width * 0.02), int(height * 0.05));
  matrix->SetGutter(vtkVector2f(18, 8));
  int font = std::max(10, height / 60);

  // Larger groups first, so the few original shapes stay visible on top.
  std::vector<size_t> order(figure.groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return figure.groups[a].rows > figure.groups[b].rows;
  });

  for (int64_t col = 0; col < k; ++col)
    for (int64_t row = 0; row < k; ++row) {
      // Chart (col, row) counts rows from the bottom; dimension 0 is the top row.
      int64_t dimY = k - 1 - row, dimX = col;
      auto *chart = vtkChartXY::SafeDownCast(matrix->GetChart(vtkVector2i(int(col), int(row))));
      if (!chart) continue;
      if (dimX == dimY) {
        addDensities(chart, figure, dimX);
      } else {
        for (size_t gi : order) {
          auto &g = figure.groups[gi];
          std::vector<double> x(size_t(g.rows)), y(size_t(g.rows));
          for (int64_t r = 0; r < g.rows; ++r) x[size_t(r)] = g.at(r, dimX), y[size_t(r)] = g.at(r, dimY);
          auto *plot = vtkPlotPoints::SafeDownCast(chart->AddPlot(vtkChart::POINTS));
          plot->SetInputData(table("x", x, g.name, y), 0, 1);
          const unsigned char *c = colour(gi);
          plot->SetColor(c[0], c[1], c[2], g.rows > 200 ? 90 : 255);
          plot->SetMarkerStyle(vtkPlotPoints::CIRCLE);
          plot->SetMarkerSize(g.rows > 200 ? 3 : 6);
          plot->SetLabel(g.name);
        }
      }
      styleAxis(chart->GetAxis(vtkAxis::BOTTOM), row == 0 ? figure.label(int32_t(dimX)) : "",
                row == 0, font);
      // The diagonal's y axis is a density, not dimension dimY: no tick labels there.
      styleAxis(chart->GetAxis(vtkAxis::LEFT), col == 0 ? figure.label(int32_t(dimY)) : "",
                col == 0 && dimX != dimY, font);
      if (col == k - 1 && row == k - 1 && k > 1) {
        chart->SetShowLegend(true);
        chart->GetLegend()->SetLabelSize(font);
      }
    }
  addTitle(view->GetRenderer(), figure.title, height);
}

void buildHistograms(const cvtk_figure &figure, vtkContextView *view, int width, int height) {
  int64_t k = figure.groups.front().columns;
  int64_t columns = std::min<int64_t>(k, 3), rows = (k + columns - 1) / columns;
  auto matrix = vtkSmartPointer<vtkChartMatrix>::New();
  view->GetScene()->AddItem(matrix);
  matrix->SetSize(vtkVector2i(int(columns), int(rows)));
  matrix->SetBorders(int(width * 0.05), int(height * 0.06), int(width * 0.02), int(height * 0.06));
  matrix->SetGutter(vtkVector2f(40, 50));
  int font = std::max(10, height / 50);
  for (int64_t d = 0; d < k; ++d) {
    int64_t col = d % columns, row = rows - 1 - d / columns;
    auto *chart = vtkChartXY::SafeDownCast(matrix->GetChart(vtkVector2i(int(col), int(row))));
    if (!chart) continue;
    addDensities(chart, figure, d);
    styleAxis(chart->GetAxis(vtkAxis::BOTTOM), figure.label(int32_t(d)), true, font);
    styleAxis(chart->GetAxis(vtkAxis::LEFT), col == 0 ? "density" : "", true, font);
    if (d == 0) {
      chart->SetShowLegend(true);
      chart->GetLegend()->SetLabelSize(font);
    }
  }
  addTitle(view->GetRenderer(), figure.title, height);
}

} // namespace

using namespace cvtk;

extern "C" cvtk_status cvtk_figure_create(cvtk_figure_kind kind, const char *title,
                                          cvtk_figure **out, char **error) {
  return guarded(error, [&] {
    if (kind < CVTK_FIGURE_LINES || kind > CVTK_FIGURE_HISTOGRAMS)
      throw std::invalid_argument("unknown figure kind " + std::to_string(int(kind)));
    auto *figure = new cvtk_figure;
    figure->kind = kind;
    figure->title = title ? title : "";
    *out = figure;
  });
}

extern "C" void cvtk_figure_free(cvtk_figure *figure) { delete figure; }

extern "C" cvtk_status cvtk_figure_add_group(cvtk_figure *figure, const char *name,
                                             const double *values, int64_t rows, int64_t columns,
                                             char **error) {
  return guarded(error, [&] {
    std::string group(name ? name : "");
    if (rows < 0 || columns < 1) throw std::invalid_argument("group '" + group + "' has no columns");
    if (figure->kind == CVTK_FIGURE_LINES && columns != 2)
      throw std::invalid_argument("series '" + group + "' of a line plot needs 2 columns (x, y), not " +
                                  std::to_string(columns));
    if (!figure->groups.empty() && figure->groups.front().columns != columns)
      throw std::invalid_argument("group '" + group + "' has " + std::to_string(columns) +
                                  " columns but the first group has " +
                                  std::to_string(figure->groups.front().columns));
    cvtk_figure::Group g;
    g.name = group;
    g.rows = rows;
    g.columns = columns;
    g.values.assign(values, values + rows * columns);
    figure->groups.push_back(std::move(g));
  });
}

extern "C" cvtk_status cvtk_figure_set_label(cvtk_figure *figure, int32_t index, const char *label,
                                             char **error) {
  return guarded(error, [&] {
    if (index < 0) throw std::invalid_argument("negative label index");
    figure->labels[index] = label ? label : "";
  });
}

extern "C" void cvtk_figure_set_log_y(cvtk_figure *figure, int32_t enabled) {
  figure->logY = enabled != 0;
}

extern "C" cvtk_status cvtk_figure_write_png(const cvtk_figure *figure, int32_t width,
                                             int32_t height, const char *png_path, char **error) {
  return guarded(error, [&] {
    if (figure->groups.empty()) throw std::invalid_argument("the figure has no data");
    if (width < 64 || height < 64) throw std::invalid_argument("image size is too small");
    std::lock_guard<std::mutex> lock(render_mutex());
    require_display();
    auto view = vtkSmartPointer<vtkContextView>::New();
    view->GetRenderWindow()->SetOffScreenRendering(1);
    view->GetRenderWindow()->SetMultiSamples(0);
    view->GetRenderWindow()->SetSize(width, height);
    view->GetRenderer()->SetBackground(1, 1, 1);
    switch (figure->kind) {
    case CVTK_FIGURE_LINES: buildLines(*figure, view, height); break;
    case CVTK_FIGURE_SCATTER_MATRIX: buildScatterMatrix(*figure, view, width, height); break;
    case CVTK_FIGURE_HISTOGRAMS: buildHistograms(*figure, view, width, height); break;
    }
    write_png(view->GetRenderWindow(), png_path);
    view->GetRenderWindow()->Finalize();
  });
}
