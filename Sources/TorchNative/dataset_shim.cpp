// A split resident on the model's device, training and evaluation on samples
// gathered there by index, host-to-device copies through pinned memory, and
// the loss queue that lets training run without a host synchronisation per
// batch. ATen only (torch/torch.h stays in torch_shim.cpp).
#include "training_internal.h"

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

using namespace ctorch_detail;

struct ctorch_dataset {
    at::Tensor images;   // [count, 1, D, H, W], float32 or bfloat16
    at::Tensor targets;  // [count, K], float32
    int64_t count = 0, depth = 0, height = 0, width = 0, outputs = 0;
};

namespace ctorch_detail {

at::Tensor to_device(const void *data, at::IntArrayRef sizes, at::ScalarType type, const at::Device &device) {
    auto host = at::from_blob(const_cast<void *>(data), sizes, at::TensorOptions().dtype(type));
    if (!device.is_cuda()) return host;
    auto pinned = at::empty(sizes, at::TensorOptions().dtype(type).pinned_memory(true));
    std::memcpy(pinned.data_ptr(), data, host.nbytes());
    return pinned.to(device, type, /*non_blocking=*/true);
}

}  // namespace ctorch_detail

namespace {

// The samples at `indices` of `dataset`, gathered on its device, as float32.
at::Tensor gather(const at::Tensor &values, const int64_t *indices, int64_t count, int64_t limit) {
    if (count < 1) throw std::invalid_argument("a batch needs at least one sample");
    for (int64_t i = 0; i < count; ++i) {
        if (indices[i] < 0 || indices[i] >= limit) {
            throw std::invalid_argument("sample index " + std::to_string(indices[i]) +
                                        " is outside the resident split of " + std::to_string(limit) + " samples");
        }
    }
    auto index = to_device(indices, {count}, at::kLong, values.device());
    auto picked = values.index_select(0, index);
    return picked.scalar_type() == at::kFloat ? picked : picked.to(at::kFloat);
}

void check_dataset(const ctorch_model *model, const ctorch_dataset *dataset) {
    int64_t d = 0, h = 0, w = 0, k = 0;
    model_extents(model, &d, &h, &w, &k);
    if (dataset->depth != d || dataset->height != h || dataset->width != w || dataset->outputs != k) {
        throw std::invalid_argument("the resident split holds " + dims_text(dataset->depth, dataset->height, dataset->width) +
                                    " images with " + std::to_string(dataset->outputs) + " targets but the network takes " +
                                    dims_text(d, h, w) + " and predicts " + std::to_string(k));
    }
    if (dataset->images.device() != model_device(model)) {
        throw std::invalid_argument("the resident split is on " + dataset->images.device().str() +
                                    " but the network is on " + model_device(model).str());
    }
}

}  // namespace

extern "C" {

ctorch_status ctorch_dataset_create(const ctorch_model *model, int64_t count, int32_t bf16_images,
                                    ctorch_dataset **dataset, char **error) {
    *dataset = nullptr;
    return guarded(error, [&] {
        if (count < 1) return fail(error, "a resident split needs at least one sample");
        if (bf16_images != 0 && !model_uses_bf16(model)) {
            return fail(error, "bfloat16 images need a network computing in bf16 (precision: bf16); "
                               "other precisions would see rounded images");
        }
        auto created = std::make_unique<ctorch_dataset>();
        created->count = count;
        model_extents(model, &created->depth, &created->height, &created->width, &created->outputs);
        const auto device = model_device(model);
        created->images = at::empty({count, 1, created->depth, created->height, created->width},
                                    at::TensorOptions().device(device).dtype(bf16_images != 0 ? at::kBFloat16 : at::kFloat));
        created->targets = at::empty({count, created->outputs}, at::TensorOptions().device(device).dtype(at::kFloat));
        *dataset = created.release();
        return CTORCH_OK;
    });
}

void ctorch_dataset_free(ctorch_dataset *dataset) {
    try { delete dataset; } catch (...) {}
}

int64_t ctorch_dataset_bytes(const ctorch_dataset *dataset) {
    return static_cast<int64_t>(dataset->images.nbytes() + dataset->targets.nbytes());
}

ctorch_status ctorch_dataset_upload(ctorch_dataset *dataset, int64_t first, int64_t count, const float *images,
                                    const float *targets, char **error) {
    return guarded(error, [&] {
        if (first < 0 || count < 1 || first + count > dataset->count) {
            return fail(error, "samples " + std::to_string(first) + "..<" + std::to_string(first + count) +
                                   " are outside the resident split of " + std::to_string(dataset->count));
        }
        const auto device = dataset->images.device();
        auto x = to_device(images, {count, 1, dataset->depth, dataset->height, dataset->width}, at::kFloat, device);
        auto y = to_device(targets, {count, dataset->outputs}, at::kFloat, device);
        dataset->images.narrow(0, first, count).copy_(x);
        dataset->targets.narrow(0, first, count).copy_(y);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_train_indexed_batch(ctorch_model *model, const ctorch_dataset *dataset,
                                               const int64_t *indices, int64_t count, int32_t defer,
                                               double *loss, char **error) {
    return guarded(error, [&] {
        check_dataset(model, dataset);
        auto x = gather(dataset->images, indices, count, dataset->count);
        auto y = gather(dataset->targets, indices, count, dataset->count);
        train_step(model, x, y, defer != 0 ? nullptr : loss);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_train_batch_deferred(ctorch_model *model, const float *images, int64_t batch,
                                                int64_t depth, int64_t height, int64_t width,
                                                const float *targets, int64_t num_outputs, char **error) {
    return guarded(error, [&] {
        int64_t d = 0, h = 0, w = 0, k = 0;
        model_extents(model, &d, &h, &w, &k);
        if (depth != d || height != h || width != w || num_outputs != k) {
            return fail(error, "the batch is " + dims_text(depth, height, width) + " with " + std::to_string(num_outputs) +
                                   " targets but the network takes " + dims_text(d, h, w) + " and predicts " +
                                   std::to_string(k));
        }
        if (batch < 1) return fail(error, "a batch needs at least one sample");
        const auto device = model_device(model);
        auto x = to_device(images, {batch, 1, depth, height, width}, at::kFloat, device);
        auto y = to_device(targets, {batch, num_outputs}, at::kFloat, device);
        train_step(model, x, y, nullptr);
        return CTORCH_OK;
    });
}

int64_t ctorch_model_queued_losses(const ctorch_model *model) {
    return static_cast<int64_t>(loss_queue(const_cast<ctorch_model *>(model)).size());
}

ctorch_status ctorch_model_take_losses(ctorch_model *model, double *losses, int64_t capacity, int64_t *count,
                                       char **error) {
    *count = 0;
    return guarded(error, [&] {
        auto &queue = loss_queue(model);
        const auto queued = static_cast<int64_t>(queue.size());
        if (queued == 0) return CTORCH_OK;
        if (capacity < queued) {
            return fail(error, std::to_string(queued) + " losses are queued but the buffer holds " +
                                   std::to_string(capacity));
        }
        // The one copy to the host: it waits for every queued step.
        auto host = at::stack(queue).to(at::kCPU).to(at::kDouble).contiguous();
        std::memcpy(losses, host.data_ptr<double>(), sizeof(double) * static_cast<size_t>(queued));
        queue.clear();
        *count = queued;
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_evaluate_indexed_batch(ctorch_model *model, const ctorch_dataset *dataset,
                                                  const int64_t *indices, int64_t count, float *predictions,
                                                  int64_t num_outputs, char **error) {
    return guarded(error, [&] {
        check_dataset(model, dataset);
        if (num_outputs != dataset->outputs) {
            return fail(error, "the prediction buffer holds " + std::to_string(num_outputs) +
                                   " scores per sample but the network predicts " + std::to_string(dataset->outputs));
        }
        auto x = gather(dataset->images, indices, count, dataset->count);
        auto out = evaluate(model, x).to(at::kCPU).contiguous();
        std::memcpy(predictions, out.data_ptr<float>(), sizeof(float) * static_cast<size_t>(out.numel()));
        return CTORCH_OK;
    });
}

}  // extern "C"
