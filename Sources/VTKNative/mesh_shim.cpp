// Meshes: construction, buffers in and out, flying-edges contouring, file I/O,
// smoothing and decimation.
#include "shim_internal.h"

#include <vtkCellArray.h>
#include <vtkCleanPolyData.h>
#include <vtkDataWriter.h>
#include <vtkDoubleArray.h>
#include <vtkFlyingEdges3D.h>
#include <vtkFloatArray.h>
#include <vtkIdTypeArray.h>
#include <vtkImageData.h>
#include <vtkOBJReader.h>
#include <vtkPLYReader.h>
#include <vtkPLYWriter.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkCellArrayIterator.h>
#include <vtkPolyDataAlgorithm.h>
#include <vtkPolyDataReader.h>
#include <vtkWriter.h>
#include <vtkPolyDataWriter.h>
#include <vtkQuadricDecimation.h>
#include <vtkSTLReader.h>
#include <vtkSTLWriter.h>
#include <vtkSmoothPolyDataFilter.h>
#include <vtkTriangleFilter.h>
#include <vtkVersion.h>
#include <vtkWindowedSincPolyDataFilter.h>
#include <vtkXMLPolyDataReader.h>
#include <vtkXMLPolyDataWriter.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>

namespace cvtk {

char *copy_string(const std::string &text) {
  char *copy = static_cast<char *>(std::malloc(text.size() + 1));
  if (copy) std::memcpy(copy, text.c_str(), text.size() + 1);
  return copy;
}

std::string extension_of(const std::string &path) {
  auto slash = path.find_last_of('/');
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

void index_arrays(cvtk_mesh *mesh) {
  mesh->array_names.clear();
  auto *data = mesh->poly->GetPointData();
  for (int i = 0; i < data->GetNumberOfArrays(); ++i) {
    auto *array = data->GetArray(i); // null for non-numeric arrays
    if (array && array->GetNumberOfComponents() == 1 && array->GetName())
      mesh->array_names.emplace_back(array->GetName());
  }
}

cvtk_mesh *wrap(vtkPolyData *poly) {
  auto *mesh = new cvtk_mesh;
  mesh->poly = poly;
  index_arrays(mesh);
  return mesh;
}

} // namespace cvtk

using namespace cvtk;

namespace {

// Keeps only triangles (polygons and strips are triangulated; vertices and
// lines dropped), because the Swift side models a triangle surface.
vtkSmartPointer<vtkPolyData> triangulated(vtkPolyData *input) {
  bool onlyTriangles = input->GetNumberOfVerts() == 0 && input->GetNumberOfLines() == 0 &&
                       input->GetNumberOfStrips() == 0 &&
                       input->GetPolys()->IsHomogeneous() == 3;
  if (onlyTriangles || input->GetNumberOfCells() == 0) return input;
  auto filter = vtkSmartPointer<vtkTriangleFilter>::New();
  auto errors = ErrorObserver::watch(filter);
  filter->SetInputData(input);
  filter->PassVertsOff();
  filter->PassLinesOff();
  filter->Update();
  errors->check("cannot triangulate the mesh");
  vtkSmartPointer<vtkPolyData> out = filter->GetOutput();
  return out;
}

vtkSmartPointer<vtkPolyData> shallowCopy(const cvtk_mesh *mesh) {
  auto copy = vtkSmartPointer<vtkPolyData>::New();
  copy->ShallowCopy(mesh->poly);
  return copy;
}

} // namespace

extern "C" const char *cvtk_version(void) { return vtkVersion::GetVTKVersion(); }

extern "C" void cvtk_free_string(char *string) { std::free(string); }

extern "C" cvtk_status cvtk_mesh_create(const double *points, int64_t num_points,
                                        const int32_t *triangles, int64_t num_triangles,
                                        cvtk_mesh **out, char **error) {
  return guarded(error, [&] {
    if (num_points < 0 || num_triangles < 0) throw std::invalid_argument("negative mesh size");
    auto coords = vtkSmartPointer<vtkDoubleArray>::New();
    coords->SetNumberOfComponents(3);
    coords->SetNumberOfTuples(num_points);
    std::copy(points, points + 3 * num_points, coords->GetPointer(0));
    auto vtkpoints = vtkSmartPointer<vtkPoints>::New();
    vtkpoints->SetData(coords);

    auto offsets = vtkSmartPointer<vtkIdTypeArray>::New();
    offsets->SetNumberOfValues(num_triangles + 1);
    auto connectivity = vtkSmartPointer<vtkIdTypeArray>::New();
    connectivity->SetNumberOfValues(3 * num_triangles);
    for (int64_t t = 0; t <= num_triangles; ++t) offsets->SetValue(t, 3 * t);
    for (int64_t i = 0; i < 3 * num_triangles; ++i) {
      int32_t v = triangles[i];
      if (v < 0 || v >= num_points)
        throw std::out_of_range("triangle " + std::to_string(i / 3) + " refers to vertex " +
                                std::to_string(v) + " but the mesh has " +
                                std::to_string(num_points) + " vertices");
      connectivity->SetValue(i, v);
    }
    auto cells = vtkSmartPointer<vtkCellArray>::New();
    cells->SetData(offsets, connectivity);

    auto poly = vtkSmartPointer<vtkPolyData>::New();
    poly->SetPoints(vtkpoints);
    poly->SetPolys(cells);
    *out = wrap(poly);
  });
}

extern "C" void cvtk_mesh_free(cvtk_mesh *mesh) { delete mesh; }

extern "C" int64_t cvtk_mesh_num_points(const cvtk_mesh *mesh) {
  return mesh->poly->GetNumberOfPoints();
}

extern "C" int64_t cvtk_mesh_num_triangles(const cvtk_mesh *mesh) {
  return mesh->poly->GetNumberOfPolys();
}

extern "C" void cvtk_mesh_get_points(const cvtk_mesh *mesh, double *points) {
  vtkIdType n = mesh->poly->GetNumberOfPoints();
  for (vtkIdType i = 0; i < n; ++i) mesh->poly->GetPoint(i, points + 3 * i);
}

extern "C" void cvtk_mesh_get_triangles(const cvtk_mesh *mesh, int32_t *triangles) {
  auto *polys = mesh->poly->GetPolys();
  vtkIdType npts;
  const vtkIdType *ids;
  int64_t t = 0;
  auto iter = vtk::TakeSmartPointer(polys->NewIterator());
  for (iter->GoToFirstCell(); !iter->IsDoneWithTraversal(); iter->GoToNextCell(), ++t) {
    iter->GetCurrentCell(npts, ids);
    for (int k = 0; k < 3; ++k) triangles[3 * t + k] = static_cast<int32_t>(k < npts ? ids[k] : ids[0]);
  }
}

extern "C" cvtk_status cvtk_mesh_set_array(cvtk_mesh *mesh, const char *name, const double *values,
                                           int64_t count, char **error) {
  return guarded(error, [&] {
    if (count != mesh->poly->GetNumberOfPoints())
      throw std::invalid_argument("array '" + std::string(name) + "' has " + std::to_string(count) +
                                  " values but the mesh has " +
                                  std::to_string(mesh->poly->GetNumberOfPoints()) + " vertices");
    auto array = vtkSmartPointer<vtkDoubleArray>::New();
    array->SetName(name);
    array->SetNumberOfValues(count);
    std::copy(values, values + count, array->GetPointer(0));
    auto *data = mesh->poly->GetPointData();
    data->RemoveArray(name);
    data->AddArray(array);
    // The first array becomes the active scalars, which ParaView colours by.
    if (!data->GetScalars()) data->SetActiveScalars(name);
    index_arrays(mesh);
  });
}

extern "C" int32_t cvtk_mesh_num_arrays(const cvtk_mesh *mesh) {
  return static_cast<int32_t>(mesh->array_names.size());
}

extern "C" const char *cvtk_mesh_array_name(const cvtk_mesh *mesh, int32_t index) {
  return mesh->array_names.at(index).c_str();
}

extern "C" void cvtk_mesh_get_array(const cvtk_mesh *mesh, int32_t index, double *values) {
  auto *array = mesh->poly->GetPointData()->GetArray(mesh->array_names.at(index).c_str());
  vtkIdType n = array->GetNumberOfTuples();
  for (vtkIdType i = 0; i < n; ++i) values[i] = array->GetComponent(i, 0);
}

extern "C" cvtk_status cvtk_contour(const float *voxels, int64_t nx, int64_t ny, int64_t nz,
                                    const double spacing[3], const double origin[3],
                                    double isovalue, cvtk_mesh **out, char **error) {
  return guarded(error, [&] {
    if (nx < 2 || ny < 2 || nz < 2)
      throw std::invalid_argument("cannot contour an image of " + std::to_string(nx) + " x " +
                                  std::to_string(ny) + " x " + std::to_string(nz) +
                                  " voxels; every axis needs at least 2");
    auto scalars = vtkSmartPointer<vtkFloatArray>::New();
    scalars->SetName("scalars");
    scalars->SetNumberOfValues(nx * ny * nz);
    std::copy(voxels, voxels + nx * ny * nz, scalars->GetPointer(0));
    auto image = vtkSmartPointer<vtkImageData>::New();
    image->SetDimensions(int(nx), int(ny), int(nz));
    image->SetSpacing(spacing[0], spacing[1], spacing[2]);
    image->SetOrigin(origin[0], origin[1], origin[2]);
    image->GetPointData()->SetScalars(scalars);

    auto contour = vtkSmartPointer<vtkFlyingEdges3D>::New();
    auto errors = ErrorObserver::watch(contour);
    contour->SetInputData(image);
    contour->SetValue(0, isovalue);
    contour->ComputeNormalsOff();
    contour->ComputeGradientsOff();
    contour->ComputeScalarsOff();
    contour->Update();
    errors->check("flying edges failed");
    auto poly = vtkSmartPointer<vtkPolyData>::New();
    poly->ShallowCopy(contour->GetOutput());
    poly->GetPointData()->Initialize();
    *out = wrap(poly);
  });
}

extern "C" cvtk_status cvtk_mesh_read(const char *path, cvtk_mesh **out, char **error) {
  return guarded(error, [&] {
    std::string file(path);
    if (!std::ifstream(file).good()) throw std::runtime_error("cannot open mesh file '" + file + "'");
    std::string ext = extension_of(file);
    vtkSmartPointer<vtkAlgorithm> reader;
    if (ext == "vtk") {
      auto r = vtkSmartPointer<vtkPolyDataReader>::New();
      r->SetFileName(path);
      r->ReadAllScalarsOn();
      r->ReadAllFieldsOn();
      reader = r;
    } else if (ext == "vtp") {
      auto r = vtkSmartPointer<vtkXMLPolyDataReader>::New();
      r->SetFileName(path);
      reader = r;
    } else if (ext == "ply") {
      auto r = vtkSmartPointer<vtkPLYReader>::New();
      r->SetFileName(path);
      reader = r;
    } else if (ext == "stl") {
      auto r = vtkSmartPointer<vtkSTLReader>::New();
      r->SetFileName(path);
      r->MergingOn(); // STL repeats shared vertices per triangle
      reader = r;
    } else if (ext == "obj") {
      auto r = vtkSmartPointer<vtkOBJReader>::New();
      r->SetFileName(path);
      reader = r;
    } else {
      throw std::invalid_argument("unknown mesh format '." + ext + "' of '" + file +
                                  "'; use .vtk, .vtp, .ply, .stl or .obj");
    }
    auto errors = ErrorObserver::watch(reader);
    reader->Update();
    errors->check("cannot read mesh '" + file + "'");
    vtkPolyData *poly = vtkPolyData::SafeDownCast(reader->GetOutputDataObject(0));
    if (!poly || poly->GetNumberOfPoints() == 0)
      throw std::runtime_error("mesh file '" + file + "' holds no points");
    *out = wrap(triangulated(poly));
  });
}

extern "C" cvtk_status cvtk_mesh_write(const cvtk_mesh *mesh, const char *path, char **error) {
  return guarded(error, [&] {
    std::string file(path);
    std::string ext = extension_of(file);
    vtkSmartPointer<vtkAlgorithm> writer;
    std::function<int()> write;
    if (ext == "vtk") {
      auto w = vtkSmartPointer<vtkPolyDataWriter>::New();
      // 4.2 rather than VTK 9's default 5.1: ShapeWorks Studio, older ParaView
      // and ITK read it.
      w->SetFileVersion(vtkDataWriter::VTK_LEGACY_READER_VERSION_4_2);
      w->SetFileTypeToBinary();
      w->SetHeader("SSMFlow surface mesh");
      w->SetInputData(mesh->poly);
      w->SetFileName(path);
      writer = w;
      write = [w] { return w->Write(); };
    } else if (ext == "vtp") {
      auto w = vtkSmartPointer<vtkXMLPolyDataWriter>::New();
      w->SetInputData(mesh->poly);
      w->SetFileName(path);
      w->SetDataModeToAppended();
      writer = w;
      write = [w] { return w->Write(); };
    } else if (ext == "ply") {
      auto w = vtkSmartPointer<vtkPLYWriter>::New();
      w->SetFileTypeToBinary();
      w->SetInputData(mesh->poly);
      w->SetFileName(path);
      writer = w;
      write = [w] { return w->Write(); };
    } else if (ext == "stl") {
      auto w = vtkSmartPointer<vtkSTLWriter>::New();
      w->SetFileTypeToBinary();
      w->SetInputData(mesh->poly);
      w->SetFileName(path);
      writer = w;
      write = [w] { return w->Write(); };
    } else {
      throw std::invalid_argument("unknown mesh format '." + ext + "' of '" + file +
                                  "'; use .vtk, .vtp, .ply or .stl");
    }
    auto errors = ErrorObserver::watch(writer);
    if (!write() || !errors->message.empty()) {
      errors->check("cannot write mesh '" + file + "'");
      throw std::runtime_error("cannot write mesh '" + file + "'");
    }
  });
}

extern "C" cvtk_status cvtk_mesh_smooth(const cvtk_mesh *mesh, cvtk_smoothing method,
                                        int32_t iterations, double parameter, cvtk_mesh **out,
                                        char **error) {
  return guarded(error, [&] {
    vtkSmartPointer<vtkPolyDataAlgorithm> filter;
    if (method == CVTK_SMOOTH_WINDOWED_SINC) {
      auto f = vtkSmartPointer<vtkWindowedSincPolyDataFilter>::New();
      f->SetNumberOfIterations(iterations);
      f->SetPassBand(parameter);
      f->NormalizeCoordinatesOn(); // numerically stable for any mesh size
      f->BoundarySmoothingOff();
      f->FeatureEdgeSmoothingOff();
      filter = f;
    } else {
      auto f = vtkSmartPointer<vtkSmoothPolyDataFilter>::New();
      f->SetNumberOfIterations(iterations);
      f->SetRelaxationFactor(parameter);
      f->FeatureEdgeSmoothingOff();
      f->BoundarySmoothingOn();
      filter = f;
    }
    auto errors = ErrorObserver::watch(filter);
    filter->SetInputData(shallowCopy(mesh));
    filter->Update();
    errors->check("smoothing failed");
    auto poly = vtkSmartPointer<vtkPolyData>::New();
    poly->ShallowCopy(filter->GetOutput());
    *out = wrap(poly);
  });
}

extern "C" cvtk_status cvtk_mesh_decimate(const cvtk_mesh *mesh, double target_reduction,
                                          cvtk_mesh **out, char **error) {
  return guarded(error, [&] {
    if (!(target_reduction >= 0 && target_reduction < 1))
      throw std::invalid_argument("target reduction " + std::to_string(target_reduction) +
                                  " is outside [0, 1)");
    auto filter = vtkSmartPointer<vtkQuadricDecimation>::New();
    auto errors = ErrorObserver::watch(filter);
    filter->SetInputData(shallowCopy(mesh));
    filter->SetTargetReduction(target_reduction);
    filter->VolumePreservationOn();
    filter->Update();
    errors->check("decimation failed");
    auto poly = vtkSmartPointer<vtkPolyData>::New();
    poly->ShallowCopy(triangulated(filter->GetOutput()));
    *out = wrap(poly);
  });
}
