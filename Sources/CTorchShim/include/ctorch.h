/*
 * Pure-C interface over libtorch for SSMFlow.
 *
 * Conventions:
 * - Every fallible call returns a ctorch_status and, on failure, stores a
 *   malloc'd, NUL-terminated message in *error (when error is not NULL). The
 *   caller owns it and frees it with ctorch_free_string.
 * - No C++ exception crosses this boundary.
 * - Handles are opaque; every ctorch_*_create has exactly one ctorch_*_free.
 * - Tensors cross the boundary as caller-owned, contiguous host buffers.
 */
#ifndef SSMFLOW_CTORCH_H
#define SSMFLOW_CTORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctorch_status {
    CTORCH_OK = 0,
    CTORCH_ERROR = 1,
} ctorch_status;

typedef enum ctorch_device {
    CTORCH_DEVICE_CPU = 0,
    CTORCH_DEVICE_CUDA = 1,
    /** CUDA when this libtorch has it and a GPU is visible, else CPU. */
    CTORCH_DEVICE_AUTO = 2,
} ctorch_device;

typedef enum ctorch_dtype {
    CTORCH_FLOAT32 = 0,
    CTORCH_FLOAT64 = 1,
    CTORCH_INT64 = 2,
    CTORCH_UINT8 = 3,
} ctorch_dtype;

/** The largest tensor rank reported by ctorch_model_state_entry. */
#define CTORCH_MAX_RANK 8

/** A DeepSSM network, its Adam optimizer and the device it lives on. */
typedef struct ctorch_model ctorch_model;

/** libtorch version string, e.g. "1.13.1". Static storage; do not free. */
const char *ctorch_version(void);

/** Frees a string returned by this library (NULL is allowed). */
void ctorch_free_string(char *string);

/* ---- process-wide settings ---- */

/** 1 when this library was built with libtorch's CUDA kernels (whether or not
 *  a GPU is usable now), else 0. */
int32_t ctorch_built_with_cuda(void);
/** Number of visible CUDA devices (0 without CUDA). */
int32_t ctorch_cuda_device_count(void);
/** Maps CPU / CUDA / AUTO to the device that will be used; fails with a
 *  message saying why when CUDA is requested and unusable. */
ctorch_status ctorch_resolve_device(ctorch_device requested, ctorch_device *resolved,
                                    char **error);

ctorch_status ctorch_set_num_threads(int32_t threads, char **error);
int32_t ctorch_get_num_threads(void);

/** Deterministic algorithms (and deterministic, non-benchmarking cuDNN). With
 *  warn_only, an op that has no deterministic kernel (CUDA max-pool backward)
 *  warns instead of failing. */
ctorch_status ctorch_set_deterministic(int32_t enabled, int32_t warn_only, char **error);
/** Seeds the default generators of every device. */
ctorch_status ctorch_manual_seed(uint64_t seed, char **error);

/** The default generator's state of `device` (CPU or CUDA) as bytes. Call with
 *  state == NULL to learn *size; otherwise capacity must be >= the size. */
ctorch_status ctorch_rng_state_get(ctorch_device device, uint8_t *state, int64_t capacity,
                                   int64_t *size, char **error);
ctorch_status ctorch_rng_state_set(ctorch_device device, const uint8_t *state, int64_t size,
                                   char **error);

/* ---- the device check (`ssmflow doctor`, and before a run that asks for CUDA) ---- */

/** The loaded libtorch: the file holding its CPU kernels, and the CPU
 *  capability they use (e.g. "AVX512"). Both malloc'd; free them with
 *  ctorch_free_string. */
ctorch_status ctorch_library_info(char **path, char **cpu_capability, char **error);

/** The CUDA driver's version (e.g. 13000 for 13.0) and how many GPUs it sees,
 *  read through libcuda.so.1 opened with dlopen: this works whatever libtorch
 *  the library was built against. Fails, saying why, without a driver. */
ctorch_status ctorch_cuda_driver(int32_t *version, int32_t *device_count, char **error);

/** GPU `index` as the driver sees it: name (malloc'd; free it with
 *  ctorch_free_string), memory in bytes and compute capability. */
ctorch_status ctorch_cuda_device_info(int32_t index, char **name, int64_t *total_memory,
                                      int32_t *major, int32_t *minor, char **error);

/** Runs a small conv3d forward and backward on `device` (CPU, or CUDA GPU
 *  `index`), waits for it and returns its wall time in *seconds. Fails with
 *  libtorch's message, e.g. when the library has no kernels for the GPU. */
ctorch_status ctorch_device_probe(ctorch_device device, int32_t index, double *seconds,
                                  char **error);

/* ---- the DeepSSM network (spec section 4) ---- */

/** Smallest extent of every input axis the network accepts. */
int64_t ctorch_deepssm_minimum_input_size(void);

/** F, the flattened size after the last pooling, for input 1 x D x H x W.
 *  Fails, naming the minimum, when an axis is too small. */
ctorch_status ctorch_deepssm_flattened_size(int64_t depth, int64_t height, int64_t width,
                                            int64_t *flattened, char **error);

/** Builds the network for input 1 x D x H x W and `num_outputs` scores, with
 *  Xavier-normal conv and linear weights drawn from `seed` (biases 0, PReLU
 *  0.25, batch norm 1 / 0), and an Adam optimizer (no weight decay). */
ctorch_status ctorch_model_create(int64_t depth, int64_t height, int64_t width,
                                  int64_t num_outputs, uint64_t seed, ctorch_device device,
                                  double learning_rate, ctorch_model **model, char **error);
void ctorch_model_free(ctorch_model *model);

/** The device the model lives on (CPU or CUDA, never AUTO). */
ctorch_device ctorch_model_device(const ctorch_model *model);
int64_t ctorch_model_parameter_count(const ctorch_model *model);
int64_t ctorch_model_flattened_size(const ctorch_model *model);

/** One optimisation step on a batch: forward (training mode), mean squared
 *  error, backward, Adam step. `images` is [batch, 1, D, H, W] float32,
 *  `targets` [batch, num_outputs]. A non-finite loss is returned in *loss
 *  without updating the weights. */
ctorch_status ctorch_model_train_batch(ctorch_model *model, const float *images,
                                       int64_t batch, int64_t depth, int64_t height,
                                       int64_t width, const float *targets,
                                       int64_t num_outputs, double *loss, char **error);

/** The objective `ctorch_model_train_batch` optimises: CTORCH_LOSS_MSE (the
 *  default), or CTORCH_LOSS_FOCAL, mean(l² / (1 + exp(a (c − l)))) with
 *  l = |prediction − target| (ShapeWorks' focal loss). Either way the loss
 *  returned by a training step is the batch's MSE, so errors stay comparable. */
typedef enum { CTORCH_LOSS_MSE = 0, CTORCH_LOSS_FOCAL = 1 } ctorch_loss;
ctorch_status ctorch_model_set_loss(ctorch_model *model, ctorch_loss loss, double a, double c,
                                    char **error);

/** Per-output weights w of the objective of later training steps: the
 *  loss averages w_k · term_k over the batch's outputs instead of term_k.
 *  `count` must equal the network's outputs; 0 restores equal weights. The
 *  loss a training step returns stays the unweighted MSE. */
ctorch_status ctorch_model_set_loss_weights(ctorch_model *model, const float *weights, int64_t count,
                                           char **error);

/** Predictions [batch, num_outputs] (evaluation mode, no gradients). */
ctorch_status ctorch_model_evaluate_batch(ctorch_model *model, const float *images,
                                          int64_t batch, int64_t depth, int64_t height,
                                          int64_t width, float *predictions,
                                          int64_t num_outputs, char **error);

/** Precise batch-norm statistics: a forward pass of `batch` images in
 *  training mode without gradients that folds the batch's statistics into
 *  every batch-norm layer's running mean and variance as an equally weighted
 *  average over the calls since the last `reset` (reset 1 zeroes them first).
 *  Weights and the optimizer are untouched; evaluation then uses these
 *  statistics instead of the moving average of the last training steps. */
ctorch_status ctorch_model_batchnorm_statistics(ctorch_model *model, const float *images,
                                                int64_t batch, int64_t depth, int64_t height,
                                                int64_t width, int32_t reset, char **error);

/** The arithmetic of the network's forward and backward passes. */
typedef enum ctorch_precision {
    /** float32 throughout, TF32 off (the CPU's only choice). */
    CTORCH_FP32 = 0,
    /** float32 tensors, TF32 tensor-core matrix products and convolutions (CUDA, compute capability 8.0+). */
    CTORCH_TF32 = 1,
    /** bfloat16 autocast of the forward pass, float32 weights and loss (CUDA, compute capability 8.0+). */
    CTORCH_BF16 = 2,
} ctorch_precision;

/** Sets the precision of training and evaluation batches; fails, saying
 *  why, when the model's device cannot do it (TF32 and BF16 need CUDA). */
ctorch_status ctorch_model_set_precision(ctorch_model *model, ctorch_precision precision,
                                         char **error);

double ctorch_model_learning_rate(const ctorch_model *model);
ctorch_status ctorch_model_set_learning_rate(ctorch_model *model, double learning_rate,
                                             char **error);

/* ---- fixed linear PCA decoder and fine-tuning on particles (docs/reference.md §4, 6.1+) ----
 * The decoder maps the network's K outputs to P particle coordinates,
 * particles = outputs · weightᵀ + bias, with weight [P, K] and bias [P] fixed
 * (never trained). It is not part of the state entries: it is derived from the
 * PCA model and the score normalisation, which the caller keeps. */

/** Installs (or replaces) the fixed decoder; `weight` is [particle_values, K]
 *  row-major, `bias` [particle_values]. */
ctorch_status ctorch_model_set_decoder(ctorch_model *model, const float *weight, const float *bias,
                                       int64_t particle_values, char **error);
/** P, the decoder's output size, or 0 without a decoder. */
int64_t ctorch_model_decoder_size(const ctorch_model *model);

/** Replaces the optimizer by a fresh Adam over every network parameter with
 *  `learning_rate`, for fine-tuning (its state then appears under
 *  `optimizer/...` like the first optimizer's). */
ctorch_status ctorch_model_reset_optimizer(ctorch_model *model, double learning_rate, char **error);

/** One fine-tuning step: forward (training mode), decoder, mean squared error
 *  against `particles` [batch, particle_values], backward through the fixed
 *  decoder into the network, Adam step. Needs a decoder. A non-finite loss is
 *  returned without updating the weights. */
ctorch_status ctorch_model_train_particles_batch(ctorch_model *model, const float *images,
                                                 int64_t batch, int64_t depth, int64_t height,
                                                 int64_t width, const float *particles,
                                                 int64_t particle_values, double *loss,
                                                 char **error);

/* ---- TL-DeepSSM (docs/training-recipe.md, "TL-DeepSSM") ----
 * ShapeWorks' DeepSSMNet_TLNet: an autoencoder on the flattened particles
 * (`CorrespondenceEncoder`: P -> 1024 -> 512 -> L, `CorrespondenceDecoder`:
 * L -> 512 -> 1024 -> P, PReLU between the linear layers) and an image encoder
 * (`ImageEncoder`: the DeepSSM network above with L outputs) that regresses the
 * autoencoder's latent code. One Adam optimizer over every parameter; a
 * parameter that takes no part in a step's loss keeps its weights and Adam
 * state. Prediction is image encoder -> correspondence decoder. */

typedef struct ctorch_tl_model ctorch_tl_model;

/** The training phases: the autoencoder on particles alone; the T-flank (the
 *  image encoder regresses the fixed autoencoder's latent code); the joint
 *  phase (particle loss + alpha * latent loss, every parameter trained). */
typedef enum {
    CTORCH_TL_AUTOENCODER = 0,
    CTORCH_TL_TFLANK = 1,
    CTORCH_TL_JOINT = 2,
} ctorch_tl_phase;

/** Builds the model for input 1 x D x H x W, `particle_values` (3 x particles)
 *  and a latent code of `latent_dim` values: Xavier-normal weights drawn from
 *  `seed`, zero biases, PReLU 0.25, and an Adam optimizer (no weight decay). */
ctorch_status ctorch_tl_create(int64_t depth, int64_t height, int64_t width, int64_t particle_values,
                               int64_t latent_dim, uint64_t seed, ctorch_device device,
                               double learning_rate, ctorch_tl_model **model, char **error);
void ctorch_tl_free(ctorch_tl_model *model);
int64_t ctorch_tl_parameter_count(const ctorch_tl_model *model);
double ctorch_tl_learning_rate(const ctorch_tl_model *model);
ctorch_status ctorch_tl_set_learning_rate(ctorch_tl_model *model, double learning_rate, char **error);

/** The objective of training steps: the MSE, or ShapeWorks' focal loss with
 *  (a_ae, c_ae) on particles and (a_lat, c_lat) on latent codes. */
ctorch_status ctorch_tl_set_loss(ctorch_tl_model *model, ctorch_loss loss, double a_ae, double c_ae,
                                 double a_lat, double c_lat, char **error);

/** One Adam step of `phase` on a batch: `particles` [batch, particle_values]
 *  float32, `images` [batch, 1, D, H, W] float32 (unused, may be NULL, in the
 *  autoencoder phase). Returns the batch's particle MSE of the autoencoder's
 *  reconstruction (autoencoder and joint phases, else 0) and the latent MSE
 *  between image and particle codes (T-flank and joint phases, else 0). A
 *  non-finite loss is returned without updating the weights. */
ctorch_status ctorch_tl_train_batch(ctorch_tl_model *model, ctorch_tl_phase phase, const float *images,
                                    const float *particles, int64_t batch, double alpha,
                                    double *particle_mse, double *latent_mse, char **error);

/** Evaluation mode, no gradients. With `particles`: the autoencoder's latent
 *  code [batch, L] into `latent` and its reconstruction [batch, P] into
 *  `reconstructed`; with `images`: the image encoder's code into
 *  `image_latent` and the decoded particles into `predicted`. Inputs and
 *  outputs not needed may be NULL. */
ctorch_status ctorch_tl_evaluate(ctorch_tl_model *model, const float *images, const float *particles,
                                 int64_t batch, float *latent, float *reconstructed,
                                 float *image_latent, float *predicted, char **error);

/** State by name, as for ctorch_model_state_*: `CorrespondenceEncoder.fc-en1.weight`,
 *  `ImageEncoder.conv1.weight`, ..., then `optimizer/<name>/...`. */
int64_t ctorch_tl_state_count(const ctorch_tl_model *model);
ctorch_status ctorch_tl_state_entry(const ctorch_tl_model *model, int64_t index, char **name,
                                    ctorch_dtype *dtype, int32_t *rank, int64_t *shape, char **error);
ctorch_status ctorch_tl_state_read(const ctorch_tl_model *model, const char *name, ctorch_dtype dtype,
                                   void *values, int64_t count, char **error);
ctorch_status ctorch_tl_state_write(ctorch_tl_model *model, const char *name, ctorch_dtype dtype,
                                    const void *values, int64_t count, char **error);

/* ---- state by name ----
 * Entries are the PyTorch state_dict names of the parameters and buffers
 * (`conv1.weight`, `bn1.running_mean`, `bn1.num_batches_tracked`, ...),
 * followed, once the optimizer has stepped, by `optimizer/<name>/step` (int64
 * scalar), `optimizer/<name>/exp_avg` and `optimizer/<name>/exp_avg_sq`. */

int64_t ctorch_model_state_count(const ctorch_model *model);
/** Name (caller frees with ctorch_free_string), dtype and shape of entry
 *  `index`; `shape` must hold CTORCH_MAX_RANK values. */
ctorch_status ctorch_model_state_entry(const ctorch_model *model, int64_t index, char **name,
                                       ctorch_dtype *dtype, int32_t *rank, int64_t *shape,
                                       char **error);
/** Copies entry `name` into `values` (count elements of `dtype`, which must
 *  match the entry's dtype and element count). */
ctorch_status ctorch_model_state_read(const ctorch_model *model, const char *name,
                                      ctorch_dtype dtype, void *values, int64_t count,
                                      char **error);
/** Overwrites entry `name`; writing an `optimizer/...` entry of a parameter
 *  without optimizer state creates that state (zeros, step 0) first. */
ctorch_status ctorch_model_state_write(ctorch_model *model, const char *name,
                                       ctorch_dtype dtype, const void *values, int64_t count,
                                       char **error);

/* ---- the training split resident on the device, and training without a
 *      host synchronisation per batch (dataset_shim.cpp) ---- */

/** Free and total memory of CUDA GPU `index` in bytes, as the driver reports
 *  it (cuMemGetInfo in the GPU's primary context, the one libtorch uses). */
ctorch_status ctorch_cuda_memory(int32_t index, int64_t *free_bytes, int64_t *total_bytes, char **error);

/** Samples held on a model's device: images [count, 1, D, H, W] (float32, or
 *  bfloat16 with bf16_images, allowed only for a model computing in bf16,
 *  whose forward pass rounds its input to bfloat16 anyway) and targets
 *  [count, K] float32, D, H, W and K being the model's. */
typedef struct ctorch_dataset ctorch_dataset;

ctorch_status ctorch_dataset_create(const ctorch_model *model, int64_t count, int32_t bf16_images,
                                    ctorch_dataset **dataset, char **error);
void ctorch_dataset_free(ctorch_dataset *dataset);
/** Bytes the dataset holds on its device. */
int64_t ctorch_dataset_bytes(const ctorch_dataset *dataset);
/** Copies samples first ..< first + count in from host buffers: images
 *  [count, 1, D, H, W] and targets [count, K], float32 (through pinned
 *  memory with non-blocking copies on CUDA). */
ctorch_status ctorch_dataset_upload(ctorch_dataset *dataset, int64_t first, int64_t count,
                                    const float *images, const float *targets, char **error);

/** One optimisation step, as ctorch_model_train_batch, on the samples at
 *  `indices` (count of them) of `dataset`, gathered on the device
 *  (index_select). With defer 0, the loss goes to *loss and a non-finite one
 *  leaves the weights. With defer 1, nothing waits for the device: the loss is
 *  queued on it (ctorch_model_take_losses), *loss is not written, and the step
 *  runs whatever the loss. */
ctorch_status ctorch_model_train_indexed_batch(ctorch_model *model, const ctorch_dataset *dataset,
                                               const int64_t *indices, int64_t count, int32_t defer,
                                               double *loss, char **error);

/** ctorch_model_train_batch with the loss queued as with defer 1 above; on
 *  CUDA the batch goes through pinned memory with non-blocking copies. */
ctorch_status ctorch_model_train_batch_deferred(ctorch_model *model, const float *images, int64_t batch,
                                                int64_t depth, int64_t height, int64_t width,
                                                const float *targets, int64_t num_outputs, char **error);

/** Number of losses queued by deferred steps. */
int64_t ctorch_model_queued_losses(const ctorch_model *model);
/** Copies the queued losses, oldest first, as float64 into `losses` (capacity
 *  at least the queued number), which waits for the steps that made them;
 *  empties the queue and sets *count. */
ctorch_status ctorch_model_take_losses(ctorch_model *model, double *losses, int64_t capacity,
                                       int64_t *count, char **error);

/** ctorch_model_evaluate_batch on the samples at `indices` of `dataset`. */
ctorch_status ctorch_model_evaluate_indexed_batch(ctorch_model *model, const ctorch_dataset *dataset,
                                                  const int64_t *indices, int64_t count,
                                                  float *predictions, int64_t num_outputs, char **error);

/* ---- files for PyTorch ---- */

/**
 * Writes `count` named tensors to `path` as one dictionary (name -> tensor, in
 * the given order) in PyTorch's serialization format, so that Python's
 * `torch.load(path)` returns it as a dict (e.g. a state dict for
 * `Module.load_state_dict`). Tensor i has dtype `dtypes[i]`, rank `ranks[i]`
 * (at most CTORCH_MAX_RANK) with its extents at
 * `shapes[CTORCH_MAX_RANK * i ... CTORCH_MAX_RANK * i + ranks[i] - 1]`, and
 * contiguous row-major values at `values[i]` (copied; the caller keeps them).
 * The file is written whole or not at all (a temporary file, then rename).
 */
ctorch_status ctorch_save_tensor_dict(const char *path, int64_t count, const char *const *names,
                                      const ctorch_dtype *dtypes, const int32_t *ranks,
                                      const int64_t *shapes, const void *const *values, char **error);

#ifdef __cplusplus
}
#endif
#endif
