// Off-screen rendering: heat maps of a per-vertex scalar with a colour bar,
// PNG output and decoding. Needs an X display (Xvfb on headless machines).
#include "shim_internal.h"

#include <vtkActor.h>
#include <vtkAutoInit.h>
#include <vtkCamera.h>
#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkPNGReader.h>
#include <vtkPNGWriter.h>
#include <vtkPointData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>

#include <X11/Xlib.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

// Without CMake, VTK's object factories must be registered by hand: OpenGL2
// provides the render window, FreeType the text, ContextOpenGL2 the charts.
VTK_MODULE_INIT(vtkRenderingOpenGL2);
VTK_MODULE_INIT(vtkRenderingFreeType);
VTK_MODULE_INIT(vtkRenderingContextOpenGL2);
VTK_MODULE_INIT(vtkInteractionStyle);

namespace cvtk {

std::mutex &render_mutex() {
  static std::mutex mutex;
  return mutex;
}

void require_display() {
  const char *name = std::getenv("DISPLAY");
  if (!name || !*name)
    throw std::runtime_error("no X display for off-screen rendering: DISPLAY is not set; run "
                             "under Xvfb (package 'xvfb') or let OffscreenDisplay start one");
  // VTK aborts the whole process when it cannot connect, so try first. The
  // probe connection stays open: an X server resets when its last client
  // disconnects, and a connection attempt during that reset fails.
  static std::string probed;
  static Display *probe = nullptr;
  if (probe && probed == name) return;
  Display *display = XOpenDisplay(nullptr);
  if (!display)
    throw std::runtime_error(std::string("cannot connect to X display '") + name +
                             "' for off-screen rendering; unset DISPLAY to use a private Xvfb, "
                             "or start one (package 'xvfb')");
  probe = display;
  probed = name;
}

void write_png(vtkRenderWindow *window, const std::string &path) {
  window->Render();
  auto grab = vtkSmartPointer<vtkWindowToImageFilter>::New();
  grab->SetInput(window);
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  grab->Update();
  auto writer = vtkSmartPointer<vtkPNGWriter>::New();
  auto errors = ErrorObserver::watch(writer);
  writer->SetInputConnection(grab->GetOutputPort());
  writer->SetFileName(path.c_str());
  writer->Write();
  errors->check("cannot write PNG '" + path + "'");
  if (!std::ifstream(path).good()) throw std::runtime_error("cannot write PNG '" + path + "'");
}

} // namespace cvtk

using namespace cvtk;

extern "C" int32_t cvtk_display_available(void) {
  try {
    std::lock_guard<std::mutex> lock(render_mutex());
    require_display();
    return 1;
  } catch (...) {
    return 0;
  }
}

extern "C" cvtk_status cvtk_render_heatmap(const cvtk_mesh *mesh, const char *array,
                                           double range_min, double range_max,
                                           const char *bar_title, const char *caption,
                                           const double *view_directions, const double *view_ups,
                                           int32_t num_views, int32_t width, int32_t height,
                                           const char *png_path, char **error) {
  return guarded(error, [&] {
    if (num_views < 1) throw std::invalid_argument("a heat map needs at least one view");
    if (width < 16 || height < 16) throw std::invalid_argument("image size is too small");
    if (!mesh->poly->GetPointData()->GetArray(array))
      throw std::invalid_argument(std::string("the mesh has no per-vertex array '") + array + "'");
    if (!(range_max > range_min)) range_max = range_min + 1e-9;

    std::lock_guard<std::mutex> lock(render_mutex());
    require_display();

    // Smooth shading needs consistent normals; flying-edges output has none.
    auto poly = vtkSmartPointer<vtkPolyData>::New();
    poly->ShallowCopy(mesh->poly);
    poly->GetPointData()->SetActiveScalars(array);
    auto normals = vtkSmartPointer<vtkPolyDataNormals>::New();
    normals->SetInputData(poly);
    normals->SplittingOff();
    normals->ConsistencyOn();
    // Two-sided lighting shades inward-facing normals too, so the costly
    // auto-orientation pass is not needed.
    normals->Update();

    auto lut = vtkSmartPointer<vtkLookupTable>::New();
    lut->SetHueRange(0.667, 0.0); // blue (close) to red (far), the usual heat map
    lut->SetTableRange(range_min, range_max);
    lut->SetNumberOfTableValues(256);
    lut->Build();

    auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    mapper->SetInputConnection(normals->GetOutputPort());
    mapper->SetLookupTable(lut);
    mapper->SetScalarModeToUsePointFieldData();
    mapper->SelectColorArray(array);
    mapper->SetScalarRange(range_min, range_max);
    mapper->ScalarVisibilityOn();

    auto window = vtkSmartPointer<vtkRenderWindow>::New();
    window->SetOffScreenRendering(1);
    window->SetMultiSamples(0);
    window->SetSize(width, height);

    double bounds[6];
    poly->GetBounds(bounds);
    double centre[3] = {(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2,
                        (bounds[4] + bounds[5]) / 2};
    // The colour bar takes the right-hand strip; views share the rest.
    const double barWidth = 0.14;
    for (int v = 0; v < num_views; ++v) {
      auto renderer = vtkSmartPointer<vtkRenderer>::New();
      renderer->SetBackground(1, 1, 1);
      double left = (1 - barWidth) * v / num_views, right = (1 - barWidth) * (v + 1) / num_views;
      renderer->SetViewport(left, 0, right, caption ? 0.92 : 1.0);
      auto actor = vtkSmartPointer<vtkActor>::New();
      actor->SetMapper(mapper);
      actor->GetProperty()->SetInterpolationToGouraud();
      actor->GetProperty()->SetSpecular(0.1);
      renderer->AddActor(actor);
      const double *d = view_directions + 3 * v, *up = view_ups + 3 * v;
      double norm = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
      if (!(norm > 0)) throw std::invalid_argument("view direction " + std::to_string(v) + " is zero");
      auto *camera = renderer->GetActiveCamera();
      camera->SetFocalPoint(centre);
      camera->SetPosition(centre[0] + d[0] / norm, centre[1] + d[1] / norm, centre[2] + d[2] / norm);
      camera->SetViewUp(up[0], up[1], up[2]);
      renderer->ResetCamera();
      camera->Zoom(1.05);
      window->AddRenderer(renderer);
    }

    auto side = vtkSmartPointer<vtkRenderer>::New();
    side->SetBackground(1, 1, 1);
    side->SetViewport(1 - barWidth, 0, 1, caption ? 0.92 : 1.0);
    auto bar = vtkSmartPointer<vtkScalarBarActor>::New();
    bar->SetLookupTable(lut);
    bar->SetTitle(bar_title ? bar_title : "");
    bar->SetNumberOfLabels(5);
    bar->SetLabelFormat("%-#6.2f");
    bar->UnconstrainedFontSizeOn();
    bar->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
    bar->GetPositionCoordinate()->SetValue(0.05, 0.1);
    bar->SetWidth(0.9);
    bar->SetHeight(0.8);
    bar->SetBarRatio(0.3);
    for (auto *text : {bar->GetTitleTextProperty(), bar->GetLabelTextProperty()}) {
      text->SetColor(0, 0, 0);
      text->ShadowOff();
      text->ItalicOff();
      text->SetFontSize(std::max(10, height / 40));
    }
    bar->GetTitleTextProperty()->BoldOn();
    side->AddActor2D(bar);
    window->AddRenderer(side);

    if (caption) {
      auto top = vtkSmartPointer<vtkRenderer>::New();
      top->SetBackground(1, 1, 1);
      top->SetViewport(0, 0.92, 1, 1);
      auto text = vtkSmartPointer<vtkTextActor>::New();
      text->SetInput(caption);
      text->GetTextProperty()->SetColor(0, 0, 0);
      text->GetTextProperty()->SetFontSize(std::max(12, height / 30));
      text->GetTextProperty()->SetVerticalJustificationToCentered();
      text->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
      text->GetPositionCoordinate()->SetValue(0.02, 0.5);
      top->AddActor2D(text);
      window->AddRenderer(top);
    }
    write_png(window, png_path);
    window->Finalize();
  });
}

extern "C" cvtk_status cvtk_png_read(const char *path, int32_t *width, int32_t *height,
                                     int32_t *components, uint8_t **pixels, char **error) {
  return guarded(error, [&] {
    std::string file(path);
    if (!std::ifstream(file).good()) throw std::runtime_error("cannot open PNG '" + file + "'");
    auto reader = vtkSmartPointer<vtkPNGReader>::New();
    auto errors = ErrorObserver::watch(reader);
    reader->SetFileName(path);
    reader->Update();
    errors->check("cannot read PNG '" + file + "'");
    vtkImageData *image = reader->GetOutput();
    int dims[3];
    image->GetDimensions(dims);
    auto *scalars = vtkUnsignedCharArray::SafeDownCast(image->GetPointData()->GetScalars());
    if (!scalars) throw std::runtime_error("PNG '" + file + "' is not 8-bit");
    size_t bytes = size_t(scalars->GetNumberOfValues());
    *pixels = static_cast<uint8_t *>(std::malloc(bytes));
    if (!*pixels) throw std::bad_alloc();
    std::memcpy(*pixels, scalars->GetPointer(0), bytes);
    *width = dims[0];
    *height = dims[1];
    *components = scalars->GetNumberOfComponents();
  });
}

extern "C" void cvtk_free_pixels(uint8_t *pixels) { std::free(pixels); }
