// The DeepSSM network's C API. With tl_shim.cpp, one of the two translation
// units that include torch/torch.h (each costs ~10 s and ~0.7 GB to compile);
// everything libtorch-specific stays behind ctorch.h.
#include "shim_internal.h"
#include "training_internal.h"
#include "torch_modules.h"

#include <torch/torch.h>
#include <ATen/autocast_mode.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <type_traits>
#include <string>
#include <vector>

using namespace ctorch_detail;

namespace {

// A Generator is a shared handle: copies lock and change the same state.
at::Generator default_generator(ctorch_device device) {
    if (resolve(device) == CTORCH_DEVICE_CUDA) {
        return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA));
    }
    return at::detail::getDefaultCPUGenerator();
}

// bfloat16 autocast of a CUDA forward pass while alive (thread-local in libtorch).
// The 1.x spellings, still present (deprecated) in 2.x, work with both.
struct AutocastScope {
    explicit AutocastScope(bool enabled) : enabled(enabled) {
        if (!enabled) return;
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(true);
    }
    ~AutocastScope() {
        if (!enabled) return;
        at::autocast::set_enabled(false);
        at::autocast::clear_cache();
    }
    bool enabled;
};

}  // namespace

struct ctorch_model {
    DeepSSMNet net{nullptr};
    std::unique_ptr<torch::optim::Adam> adam;
    torch::Device device{torch::kCPU};
    ctorch_precision precision = CTORCH_FP32;
    // The fixed decoder (no gradients); undefined until set.
    torch::Tensor decoder_weight, decoder_bias;
    // The objective of score training (ctorch_model_set_loss).
    ctorch_loss loss = CTORCH_LOSS_MSE;
    double focal_a = 1.32, focal_c = 10;
    // Per-output weights of the objective (ctorch_model_set_loss_weights); undefined: equal.
    torch::Tensor loss_weights;
    // Losses of deferred steps, on the device, until ctorch_model_take_losses (dataset_shim.cpp).
    std::vector<torch::Tensor> queued_losses;
    int64_t depth = 0, height = 0, width = 0, outputs = 0, flattened = 0;

    // Its state entries (parameters, buffers, Adam state) for checkpoints.
    ModelState state() { return ModelState(*net, *adam, "model"); }

    void check_input(int64_t d, int64_t h, int64_t w, int64_t k) const {
        if (d != depth || h != height || w != width) {
            throw std::invalid_argument("input images are " + dims_text(d, h, w) +
                                        " but the network was built for " +
                                        dims_text(depth, height, width) +
                                        "; rebuild the network for the loaders' image size");
        }
        if (k != outputs) {
            throw std::invalid_argument("batch has " + std::to_string(k) +
                                        " scores per sample but the network predicts " +
                                        std::to_string(outputs));
        }
    }

    torch::Tensor images(const float *data, int64_t batch) const {
        if (batch < 1) throw std::invalid_argument("a batch needs at least one sample");
        return to_device(data, {batch, 1, depth, height, width}, torch::kFloat, device);
    }
};

// The network's forward pass, under bfloat16 autocast when chosen, as float.
static torch::Tensor forward_float(ctorch_model *model, const torch::Tensor &x) {
    torch::Tensor out;
    {
        AutocastScope autocast(model->precision == CTORCH_BF16);
        out = model->net->forward(x);
    }
    return out.to(torch::kFloat);
}

namespace ctorch_detail {

void train_step(ctorch_model *model, const torch::Tensor &x, const torch::Tensor &y, double *host_loss) {
    model->net->train();
    model->adam->zero_grad();
    auto predicted = forward_float(model, x);
    auto value = torch::mse_loss(predicted, y);
    if (host_loss != nullptr) {
        *host_loss = value.item<double>();
        // A diverged batch must not poison the weights: report it, leave them.
        if (!std::isfinite(*host_loss)) return;
    } else {
        model->queued_losses.push_back(value.detach().to(torch::kDouble));
    }
    if (model->loss == CTORCH_LOSS_FOCAL || model->loss_weights.defined()) {
        auto l = (predicted - y).abs();
        auto terms = model->loss == CTORCH_LOSS_FOCAL
            ? l * l / (1 + torch::exp(model->focal_a * (model->focal_c - l)))
            : l * l;
        if (model->loss_weights.defined()) terms = terms * model->loss_weights;
        terms.mean().backward();
    } else {
        value.backward();
    }
    model->adam->step();
}

torch::Tensor evaluate(ctorch_model *model, const torch::Tensor &x) {
    torch::NoGradGuard no_grad;
    model->net->eval();
    return forward_float(model, x);
}

std::vector<torch::Tensor> &loss_queue(ctorch_model *model) { return model->queued_losses; }
at::Device model_device(const ctorch_model *model) { return model->device; }
bool model_uses_bf16(const ctorch_model *model) { return model->precision == CTORCH_BF16; }

void model_extents(const ctorch_model *model, int64_t *depth, int64_t *height, int64_t *width, int64_t *outputs) {
    *depth = model->depth;
    *height = model->height;
    *width = model->width;
    *outputs = model->outputs;
}

}  // namespace ctorch_detail

extern "C" {

ctorch_status ctorch_rng_state_get(ctorch_device device, uint8_t *state, int64_t capacity,
                                   int64_t *size, char **error) {
    return guarded(error, [&] {
        at::Generator generator = default_generator(device);
        at::Tensor bytes;
        {
            std::lock_guard<std::mutex> lock(generator.mutex());
            bytes = generator.get_state().contiguous();
        }
        *size = bytes.numel();
        if (state == nullptr) return CTORCH_OK;
        if (capacity < bytes.numel()) {
            return fail(error, "rng state needs " + std::to_string(bytes.numel()) +
                                   " bytes but the buffer holds " + std::to_string(capacity));
        }
        std::memcpy(state, bytes.data_ptr<uint8_t>(), static_cast<size_t>(bytes.numel()));
        return CTORCH_OK;
    });
}

ctorch_status ctorch_rng_state_set(ctorch_device device, const uint8_t *state, int64_t size,
                                   char **error) {
    return guarded(error, [&] {
        at::Generator generator = default_generator(device);
        auto bytes = torch::from_blob(const_cast<uint8_t *>(state), {size}, torch::kByte).clone();
        std::lock_guard<std::mutex> lock(generator.mutex());
        generator.set_state(bytes);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_create(int64_t depth, int64_t height, int64_t width,
                                  int64_t num_outputs, uint64_t seed, ctorch_device device,
                                  double learning_rate, ctorch_model **model, char **error) {
    *model = nullptr;
    return guarded(error, [&] {
        int64_t flattened = 0;
        if (ctorch_deepssm_flattened_size(depth, height, width, &flattened, error) != CTORCH_OK) {
            return CTORCH_ERROR;
        }
        if (num_outputs < 1) return fail(error, "the network needs at least one output score");
        if (!(learning_rate > 0)) return fail(error, "learning rate must be positive");
        auto created = std::make_unique<ctorch_model>();
        created->depth = depth;
        created->height = height;
        created->width = width;
        created->outputs = num_outputs;
        created->flattened = flattened;
        created->net = DeepSSMNet(flattened, num_outputs);
        initialize(created->net, seed);
        if (resolve(device) == CTORCH_DEVICE_CUDA) created->device = torch::Device(torch::kCUDA);
        created->net->to(created->device);
        created->adam = std::make_unique<torch::optim::Adam>(
            created->net->parameters(), torch::optim::AdamOptions(learning_rate));
        *model = created.release();
        return CTORCH_OK;
    });
}

void ctorch_model_free(ctorch_model *model) {
    try { delete model; } catch (...) {}
}

ctorch_device ctorch_model_device(const ctorch_model *model) {
    return model->device.is_cuda() ? CTORCH_DEVICE_CUDA : CTORCH_DEVICE_CPU;
}

int64_t ctorch_model_parameter_count(const ctorch_model *model) {
    int64_t count = 0;
    for (const auto &p : model->net->parameters()) count += p.numel();
    return count;
}

int64_t ctorch_model_flattened_size(const ctorch_model *model) { return model->flattened; }

ctorch_status ctorch_model_train_batch(ctorch_model *model, const float *images,
                                       int64_t batch, int64_t depth, int64_t height,
                                       int64_t width, const float *targets,
                                       int64_t num_outputs, double *loss, char **error) {
    return guarded(error, [&] {
        model->check_input(depth, height, width, num_outputs);
        auto x = model->images(images, batch);
        auto y = to_device(targets, {batch, num_outputs}, torch::kFloat, model->device);
        train_step(model, x, y, loss);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_set_loss(ctorch_model *model, ctorch_loss loss, double a, double c,
                                    char **error) {
    return guarded(error, [&] {
        if (loss != CTORCH_LOSS_MSE && loss != CTORCH_LOSS_FOCAL) return fail(error, "unknown loss");
        if (!std::isfinite(a) || !std::isfinite(c)) return fail(error, "focal parameters must be finite");
        model->loss = loss;
        model->focal_a = a;
        model->focal_c = c;
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_set_loss_weights(ctorch_model *model, const float *weights, int64_t count,
                                           char **error) {
    return guarded(error, [&] {
        if (count == 0) {
            model->loss_weights = torch::Tensor();
            return CTORCH_OK;
        }
        if (count != model->outputs) {
            return fail(error, "got " + std::to_string(count) + " loss weights for a network of " +
                                   std::to_string(model->outputs) + " outputs");
        }
        for (int64_t i = 0; i < count; ++i) {
            if (!std::isfinite(weights[i]) || weights[i] < 0) return fail(error, "loss weights must be finite and non-negative");
        }
        // A copy: the caller's buffer does not outlive the call.
        model->loss_weights = to_device(weights, {1, count}, torch::kFloat, model->device).clone();
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_evaluate_batch(ctorch_model *model, const float *images,
                                          int64_t batch, int64_t depth, int64_t height,
                                          int64_t width, float *predictions,
                                          int64_t num_outputs, char **error) {
    return guarded(error, [&] {
        model->check_input(depth, height, width, num_outputs);
        torch::NoGradGuard no_grad;
        model->net->eval();
        auto out = forward_float(model, model->images(images, batch)).to(torch::kCPU).contiguous();
        std::memcpy(predictions, out.data_ptr<float>(), sizeof(float) * static_cast<size_t>(out.numel()));
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_batchnorm_statistics(ctorch_model *model, const float *images,
                                                int64_t batch, int64_t depth, int64_t height,
                                                int64_t width, int32_t reset, char **error) {
    return guarded(error, [&] {
        model->check_input(depth, height, width, model->outputs);
        torch::NoGradGuard no_grad;
        model->net->train();
        for (auto &norm : model->net->norms) {
            if (reset) norm->reset_running_stats();
            // No momentum: the running statistics become the cumulative average of the batches'.
            // (An empty optional of the option's own type: c10:: in libtorch 1.x, std:: in 2.x.)
            norm->options.momentum(std::decay_t<decltype(norm->options.momentum())>{});
        }
        std::exception_ptr failure;
        try {
            forward_float(model, model->images(images, batch));
        } catch (...) {
            failure = std::current_exception();
        }
        for (auto &norm : model->net->norms) norm->options.momentum(0.1);
        if (failure) std::rethrow_exception(failure);
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_set_precision(ctorch_model *model, ctorch_precision precision, char **error) {
    return guarded(error, [&] {
        const char *names[] = {"fp32", "tf32", "bf16"};
        if (precision < CTORCH_FP32 || precision > CTORCH_BF16) {
            return fail(error, "unknown precision " + std::to_string(int(precision)));
        }
        if (precision != CTORCH_FP32 && !model->device.is_cuda()) {
            return fail(error, std::string("precision '") + names[precision] +
                                   "' needs a CUDA GPU (compute capability 8.0 or newer); use precision 'fp32' on the CPU");
        }
        // TF32 is a process-wide switch; fp32 on CUDA turns it off for convolutions too
        // (PyTorch leaves it on for cuDNN by default).
        if (model->device.is_cuda()) {
            at::globalContext().setAllowTF32CuBLAS(precision == CTORCH_TF32);
            at::globalContext().setAllowTF32CuDNN(precision == CTORCH_TF32);
        }
        model->precision = precision;
        return CTORCH_OK;
    });
}

double ctorch_model_learning_rate(const ctorch_model *model) {
    return static_cast<const torch::optim::AdamOptions &>(model->adam->param_groups()[0].options()).lr();
}

ctorch_status ctorch_model_set_learning_rate(ctorch_model *model, double learning_rate, char **error) {
    return guarded(error, [&] {
        if (!(learning_rate > 0)) return fail(error, "learning rate must be positive");
        for (auto &group : model->adam->param_groups()) {
            static_cast<torch::optim::AdamOptions &>(group.options()).lr(learning_rate);
        }
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_set_decoder(ctorch_model *model, const float *weight, const float *bias,
                                       int64_t particle_values, char **error) {
    return guarded(error, [&] {
        if (particle_values < 1) return fail(error, "the decoder needs at least one output value");
        auto w = torch::from_blob(const_cast<float *>(weight), {particle_values, model->outputs}, torch::kFloat);
        auto b = torch::from_blob(const_cast<float *>(bias), {particle_values}, torch::kFloat);
        if (!torch::isfinite(w).all().item<bool>() || !torch::isfinite(b).all().item<bool>()) {
            return fail(error, "the decoder weights or bias hold NaN or infinite values");
        }
        model->decoder_weight = w.clone().to(model->device);
        model->decoder_bias = b.clone().to(model->device);
        return CTORCH_OK;
    });
}

int64_t ctorch_model_decoder_size(const ctorch_model *model) {
    return model->decoder_weight.defined() ? model->decoder_weight.size(0) : 0;
}

ctorch_status ctorch_model_reset_optimizer(ctorch_model *model, double learning_rate, char **error) {
    return guarded(error, [&] {
        if (!(learning_rate > 0)) return fail(error, "learning rate must be positive");
        model->adam = std::make_unique<torch::optim::Adam>(
            model->net->parameters(), torch::optim::AdamOptions(learning_rate));
        return CTORCH_OK;
    });
}

ctorch_status ctorch_model_train_particles_batch(ctorch_model *model, const float *images,
                                                 int64_t batch, int64_t depth, int64_t height,
                                                 int64_t width, const float *particles,
                                                 int64_t particle_values, double *loss,
                                                 char **error) {
    return guarded(error, [&] {
        if (!model->decoder_weight.defined()) {
            return fail(error, "fine-tuning on particles needs the PCA decoder; set it first");
        }
        model->check_input(depth, height, width, model->outputs);
        if (particle_values != model->decoder_weight.size(0)) {
            return fail(error, "batch has " + std::to_string(particle_values) +
                                   " particle values per sample but the decoder gives " +
                                   std::to_string(model->decoder_weight.size(0)));
        }
        auto x = model->images(images, batch);
        auto y = torch::from_blob(const_cast<float *>(particles), {batch, particle_values}, torch::kFloat)
                     .to(model->device);
        model->net->train();
        model->adam->zero_grad();
        auto decoded = torch::addmm(model->decoder_bias, forward_float(model, x), model->decoder_weight.t());
        auto value = torch::mse_loss(decoded, y);
        *loss = value.item<double>();
        if (!std::isfinite(*loss)) return CTORCH_OK;
        value.backward();
        model->adam->step();
        return CTORCH_OK;
    });
}

int64_t ctorch_model_state_count(const ctorch_model *model) {
    return const_cast<ctorch_model *>(model)->state().count();
}

ctorch_status ctorch_model_state_entry(const ctorch_model *model, int64_t index, char **name,
                                       ctorch_dtype *dtype, int32_t *rank, int64_t *shape,
                                       char **error) {
    return const_cast<ctorch_model *>(model)->state().describe(index, name, dtype, rank, shape, error);
}

ctorch_status ctorch_model_state_read(const ctorch_model *model, const char *name,
                                      ctorch_dtype dtype, void *values, int64_t count,
                                      char **error) {
    return const_cast<ctorch_model *>(model)->state().read(name, dtype, values, count, error);
}

ctorch_status ctorch_model_state_write(ctorch_model *model, const char *name, ctorch_dtype dtype,
                                       const void *values, int64_t count, char **error) {
    return model->state().write(name, dtype, values, count, error);
}

ctorch_status ctorch_save_tensor_dict(const char *path, int64_t count, const char *const *names,
                                      const ctorch_dtype *dtypes, const int32_t *ranks,
                                      const int64_t *shapes, const void *const *values, char **error) {
    return guarded(error, [&] {
        c10::Dict<std::string, torch::Tensor> dict;
        for (int64_t i = 0; i < count; ++i) {
            if (ranks[i] < 0 || ranks[i] > CTORCH_MAX_RANK) {
                return fail(error, std::string("tensor '") + names[i] + "' has rank " + std::to_string(ranks[i]) +
                                       "; ranks go from 0 to " + std::to_string(CTORCH_MAX_RANK));
            }
            std::vector<int64_t> sizes(shapes + CTORCH_MAX_RANK * i, shapes + CTORCH_MAX_RANK * i + ranks[i]);
            auto tensor = torch::from_blob(const_cast<void *>(values[i]), sizes, scalar_type(dtypes[i])).clone();
            dict.insert(names[i], tensor);
        }
        const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
        const std::string temporary = std::string(path) + ".partial";
        FILE *file = std::fopen(temporary.c_str(), "wb");
        if (file == nullptr) {
            return fail(error, "cannot create " + temporary + ": " + std::strerror(errno));
        }
        const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
        const bool closed = std::fclose(file) == 0;
        if (!written || !closed || std::rename(temporary.c_str(), path) != 0) {
            const std::string reason = std::strerror(errno);
            std::remove(temporary.c_str());
            return fail(error, std::string("cannot write ") + path + ": " + reason);
        }
        return CTORCH_OK;
    });
}

}  // extern "C"
