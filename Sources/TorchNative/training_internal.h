// What dataset_shim.cpp needs of the model that torch_shim.cpp owns; not part of the C API.
#ifndef SSMFLOW_CTORCH_TRAINING_INTERNAL_H
#define SSMFLOW_CTORCH_TRAINING_INTERNAL_H

#include "shim_internal.h"

#include <ATen/ATen.h>

#include <vector>

namespace ctorch_detail {

at::Device model_device(const ctorch_model *model);
/// Whether the model's forward pass runs under bfloat16 autocast.
bool model_uses_bf16(const ctorch_model *model);
/// The network's input extents D, H, W and its number of outputs K.
void model_extents(const ctorch_model *model, int64_t *depth, int64_t *height, int64_t *width,
                   int64_t *outputs);

/// One optimisation step on x [b, 1, D, H, W] and y [b, K], both on the
/// model's device. With `host_loss`, the batch's MSE is read back into it and a
/// non-finite one leaves the weights (the host-synchronised path of
/// ctorch_model_train_batch); without, the MSE is appended, as a float64
/// scalar on the device, to the model's loss queue and the step runs whatever
/// its value (no synchronisation).
void train_step(ctorch_model *model, const at::Tensor &x, const at::Tensor &y, double *host_loss);

/// Predictions [b, K] float32 on the model's device (evaluation mode, no gradients).
at::Tensor evaluate(ctorch_model *model, const at::Tensor &x);

/// The losses queued by train_step without `host_loss`, oldest first.
std::vector<at::Tensor> &loss_queue(ctorch_model *model);

/// A contiguous host buffer of `sizes` and `type` on `device`: on the CPU the
/// buffer itself (no copy, as from_blob); on CUDA copied into page-locked
/// (pinned) memory and sent with a non-blocking copy, so the host goes on
/// while the GPU receives it (libtorch's pinned allocator keeps the block
/// until the copy has finished).
at::Tensor to_device(const void *data, at::IntArrayRef sizes, at::ScalarType type, const at::Device &device);

}  // namespace ctorch_detail

#endif
