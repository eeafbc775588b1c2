#include "cvtk.h"
#include <vtkVersion.h>

extern "C" const char *cvtk_version(void) { return vtkVersion::GetVTKVersion(); }
