// Internal helpers shared by the shim's translation units (not part of the C API).
#ifndef SSMFLOW_CVTK_INTERNAL_H
#define SSMFLOW_CVTK_INTERNAL_H
#include "cvtk.h"

#include <vtkCommand.h>
#include <vtkObject.h>
#include <vtkPolyData.h>
#include <vtkSmartPointer.h>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

struct cvtk_mesh {
  vtkSmartPointer<vtkPolyData> poly;
  // Names of the one-component point arrays, refreshed by `cvtk::index_arrays`.
  std::vector<std::string> array_names;
};

class vtkRenderWindow;

namespace cvtk {

/// A C string the caller frees with `cvtk_free_string`.
char *copy_string(const std::string &text);

/// Runs `body`, turning any C++ exception into CVTK_ERROR and a message.
template <class Body> cvtk_status guarded(char **error, Body &&body) {
  try {
    body();
    return CVTK_OK;
  } catch (const std::exception &e) {
    if (error) *error = copy_string(e.what());
  } catch (...) {
    if (error) *error = copy_string("unknown C++ exception inside VTK");
  }
  return CVTK_ERROR;
}

/// Collects a VTK object's error events (instead of printing them) so that a
/// failed `Update()` becomes an exception with VTK's own message.
class ErrorObserver : public vtkCommand {
public:
  static ErrorObserver *New() { return new ErrorObserver; }
  void Execute(vtkObject *, unsigned long event, void *data) override {
    if (event == vtkCommand::ErrorEvent && data) {
      if (!message.empty()) message += "; ";
      message += static_cast<const char *>(data);
    }
  }
  std::string message;

  /// Attaches a new observer to `object` and returns it.
  static vtkSmartPointer<ErrorObserver> watch(vtkObject *object) {
    auto observer = vtkSmartPointer<ErrorObserver>::New();
    object->AddObserver(vtkCommand::ErrorEvent, observer);
    object->AddObserver(vtkCommand::WarningEvent, vtkSmartPointer<ErrorObserver>::New());
    return observer;
  }
  /// Throws when an error was recorded, prefixed with `what`.
  void check(const std::string &what) const {
    if (!message.empty()) throw std::runtime_error(what + ": " + trimmed());
  }

private:
  std::string trimmed() const {
    std::string text = message;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }
};

/// Wraps a polydata (triangles only) as a handle, indexing its scalar arrays.
cvtk_mesh *wrap(vtkPolyData *poly);
void index_arrays(cvtk_mesh *mesh);

/// Serialises rendering: one X connection and OpenGL context at a time.
std::mutex &render_mutex();

/// Throws unless the X display accepts a connection (VTK aborts the process otherwise).
void require_display();

/// Renders `window` off-screen and writes its pixels to a PNG.
void write_png(vtkRenderWindow *window, const std::string &path);

/// Lower-case file extension without the dot ("" when none).
std::string extension_of(const std::string &path);

} // namespace cvtk
#endif
