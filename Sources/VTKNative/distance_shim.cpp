// Point-to-surface distances: closest point on a mesh's triangles for many
// query points, with a static cell locator shared by worker threads.
#include "shim_internal.h"

#include <vtkGenericCell.h>
#include <vtkStaticCellLocator.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

extern "C" cvtk_status cvtk_point_to_surface(const cvtk_mesh *surface, const double *points,
                                             int64_t num_points, int32_t threads,
                                             double *distances, double *closest, char **error) {
  return cvtk::guarded(error, [&] {
    if (surface->poly->GetNumberOfPolys() == 0)
      throw std::invalid_argument("the target surface has no triangles");
    auto poly = vtkSmartPointer<vtkPolyData>::New();
    poly->ShallowCopy(surface->poly);
    // Cells must be built before concurrent GetCell calls from the locator.
    poly->BuildCells();
    auto locator = vtkSmartPointer<vtkStaticCellLocator>::New();
    locator->SetDataSet(poly);
    locator->SetNumberOfCellsPerNode(8);
    locator->BuildLocator();

    // The vtkGenericCell overload of FindClosestPoint is the thread-safe one.
    auto work = [&](int64_t begin, int64_t end) {
      auto cell = vtkSmartPointer<vtkGenericCell>::New();
      double nearest[3];
      vtkIdType cellId;
      int subId;
      double dist2;
      for (int64_t i = begin; i < end; ++i) {
        double query[3] = {points[3 * i], points[3 * i + 1], points[3 * i + 2]};
        locator->FindClosestPoint(query, nearest, cell, cellId, subId, dist2);
        distances[i] = std::sqrt(dist2);
        if (closest) std::copy(nearest, nearest + 3, closest + 3 * i);
      }
    };
    int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, num_points / 2048 + 1));
    if (workers == 1) {
      work(0, num_points);
      return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> failures(workers);
    int64_t chunk = (num_points + workers - 1) / workers;
    for (int64_t w = 0; w < workers; ++w) {
      int64_t begin = w * chunk, end = std::min(num_points, begin + chunk);
      pool.emplace_back([&, w, begin, end] {
        try {
          work(begin, end);
        } catch (...) {
          failures[w] = std::current_exception();
        }
      });
    }
    for (auto &t : pool) t.join();
    for (auto &f : failures)
      if (f) std::rethrow_exception(f);
  });
}
