/*
 * Pure-C interface over VTK 9 for SSMFlow: surface meshes, point-to-surface
 * distances, off-screen heat-map rendering and plots.
 *
 * Conventions:
 * - Opaque handles; exactly one `_free` per `_create` / `_read` / `_contour`.
 * - Every fallible call returns `CVTK_OK` or `CVTK_ERROR`; on error `*error`
 *   (when `error` is not NULL) receives a message the caller owns and frees
 *   with `cvtk_free_string`. No C++ exception crosses this interface.
 * - Arrays travel as plain buffers: points as `double[3n]` (x y z ...),
 *   triangles as `int32_t[3t]` vertex indices, scalars as `double[n]`.
 * - Rendering needs an X display (`DISPLAY`); the caller provides one (Xvfb on
 *   headless machines). Rendering calls are serialised inside the shim.
 */
#ifndef SSMFLOW_CVTK_H
#define SSMFLOW_CVTK_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CVTK_OK = 0, CVTK_ERROR = 1 } cvtk_status;

/** VTK version string. Static storage; do not free. */
const char *cvtk_version(void);

/** Frees an error message returned through an `error` argument. NULL is ignored. */
void cvtk_free_string(char *string);

/* ---------------------------------------------------------------- meshes */

/** A triangle surface with per-vertex scalar arrays (a vtkPolyData). */
typedef struct cvtk_mesh cvtk_mesh;

/** Builds a mesh from points `double[3 * num_points]` and triangles `int32_t[3 * num_triangles]`. */
cvtk_status cvtk_mesh_create(const double *points, int64_t num_points,
                             const int32_t *triangles, int64_t num_triangles,
                             cvtk_mesh **out, char **error);
void cvtk_mesh_free(cvtk_mesh *mesh);

int64_t cvtk_mesh_num_points(const cvtk_mesh *mesh);
int64_t cvtk_mesh_num_triangles(const cvtk_mesh *mesh);
/** Copies the points into `double[3 * num_points]`. */
void cvtk_mesh_get_points(const cvtk_mesh *mesh, double *points);
/** Copies the triangles into `int32_t[3 * num_triangles]`. */
void cvtk_mesh_get_triangles(const cvtk_mesh *mesh, int32_t *triangles);

/** Adds (or replaces) a one-component per-vertex array of `num_points` values. */
cvtk_status cvtk_mesh_set_array(cvtk_mesh *mesh, const char *name, const double *values,
                                int64_t count, char **error);
/** Number of one-component per-vertex arrays (other arrays, e.g. normals, are not listed). */
int32_t cvtk_mesh_num_arrays(const cvtk_mesh *mesh);
/** Name of array `index`; owned by the mesh, valid until the mesh is freed. */
const char *cvtk_mesh_array_name(const cvtk_mesh *mesh, int32_t index);
/** Copies array `index` into `double[num_points]`. */
void cvtk_mesh_get_array(const cvtk_mesh *mesh, int32_t index, double *values);

/**
 * Iso-surface of a scalar volume by flying edges. `voxels` is `float[nx*ny*nz]`,
 * x fastest; vertices are in physical coordinates `origin + index * spacing`.
 */
cvtk_status cvtk_contour(const float *voxels, int64_t nx, int64_t ny, int64_t nz,
                         const double spacing[3], const double origin[3], double isovalue,
                         cvtk_mesh **out, char **error);

/** Reads `.vtk` (legacy), `.vtp`, `.ply`, `.stl` or `.obj`, by extension; polygons are triangulated. */
cvtk_status cvtk_mesh_read(const char *path, cvtk_mesh **out, char **error);
/** Writes `.vtk` (legacy 4.2, binary, with arrays), `.vtp`, `.ply` or `.stl` (binary), by extension. */
cvtk_status cvtk_mesh_write(const cvtk_mesh *mesh, const char *path, char **error);

typedef enum { CVTK_SMOOTH_LAPLACIAN = 0, CVTK_SMOOTH_WINDOWED_SINC = 1 } cvtk_smoothing;
/**
 * Smooths vertex positions. Laplacian: `parameter` is the relaxation factor
 * (0..1). Windowed sinc: `parameter` is the pass band (0..2, smaller is smoother).
 */
cvtk_status cvtk_mesh_smooth(const cvtk_mesh *mesh, cvtk_smoothing method, int32_t iterations,
                             double parameter, cvtk_mesh **out, char **error);
/** Quadric decimation removing about `target_reduction` (0..1) of the triangles. */
cvtk_status cvtk_mesh_decimate(const cvtk_mesh *mesh, double target_reduction,
                               cvtk_mesh **out, char **error);

/* ------------------------------------------------------------- distances */

/**
 * For each of `num_points` query points, the Euclidean distance to the closest
 * point on the surface's triangles (`distances[i]`) and, when `closest` is not
 * NULL, that point (`closest[3i..3i+2]`). Uses up to `threads` threads.
 */
cvtk_status cvtk_point_to_surface(const cvtk_mesh *surface, const double *points,
                                  int64_t num_points, int32_t threads, double *distances,
                                  double *closest, char **error);

/* ------------------------------------------------------------- rendering */

/** Whether the X display named by `DISPLAY` accepts a connection. */
int32_t cvtk_display_available(void);

/**
 * Renders `mesh` coloured by its array `array` (blue at `range_min`, red at
 * `range_max`) with a colour bar titled `bar_title`, once per view side by side
 * (`view_directions[3i..]`: from the mesh centre towards the camera;
 * `view_ups[3i..]`: screen up), with `caption` (may be NULL) on top, into a
 * `width` x `height` PNG at `png_path`.
 */
cvtk_status cvtk_render_heatmap(const cvtk_mesh *mesh, const char *array, double range_min,
                                double range_max, const char *bar_title, const char *caption,
                                const double *view_directions, const double *view_ups,
                                int32_t num_views, int32_t width, int32_t height,
                                const char *png_path, char **error);

/** Decodes a PNG into `*pixels` (`width*height*components` bytes, rows bottom-up as VTK stores them). */
cvtk_status cvtk_png_read(const char *path, int32_t *width, int32_t *height, int32_t *components,
                          uint8_t **pixels, char **error);
void cvtk_free_pixels(uint8_t *pixels);

/* ----------------------------------------------------------------- plots */

typedef enum {
  /** Groups are series of (x, y) rows, drawn as lines with a legend. */
  CVTK_FIGURE_LINES = 0,
  /** Groups are rows of K values: a K x K matrix of pairwise scatter plots, densities on the diagonal. */
  CVTK_FIGURE_SCATTER_MATRIX = 1,
  /** Groups are rows of K values: one density histogram per dimension. */
  CVTK_FIGURE_HISTOGRAMS = 2
} cvtk_figure_kind;

/** A chart being assembled; the data is kept until `cvtk_figure_write_png`. */
typedef struct cvtk_figure cvtk_figure;

cvtk_status cvtk_figure_create(cvtk_figure_kind kind, const char *title, cvtk_figure **out,
                               char **error);
void cvtk_figure_free(cvtk_figure *figure);
/** Adds a named group of `rows` x `columns` values (row-major). Every group of a figure has the same columns. */
cvtk_status cvtk_figure_add_group(cvtk_figure *figure, const char *name, const double *values,
                                  int64_t rows, int64_t columns, char **error);
/** Names column `index` (lines: 0 = x axis, 1 = y axis; matrices and histograms: dimension). */
cvtk_status cvtk_figure_set_label(cvtk_figure *figure, int32_t index, const char *label,
                                  char **error);
/** Logarithmic y axis (lines only). */
void cvtk_figure_set_log_y(cvtk_figure *figure, int32_t enabled);
cvtk_status cvtk_figure_write_png(const cvtk_figure *figure, int32_t width, int32_t height,
                                  const char *png_path, char **error);

#ifdef __cplusplus
}
#endif
#endif
