// TL-DeepSSM's C API (ctorch.h, "TL-DeepSSM"): ShapeWorks' DeepSSMNet_TLNet,
// an autoencoder on correspondence particles whose latent code an image
// encoder (the DeepSSM network) learns to regress.
#include "shim_internal.h"
#include "torch_modules.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace ctorch_detail;

namespace {

// Linear layers with a PReLU between consecutive ones, registered like
// ShapeWorks' Sequential (`fc-en1`, `relu-en1`, `fc-en2`, ...).
struct PerceptronImpl : torch::nn::Module {
    PerceptronImpl(const std::vector<int64_t> &sizes, const std::string &tag) {
        for (size_t i = 0; i + 1 < sizes.size(); ++i) {
            const std::string n = std::to_string(i + 1);
            linears.push_back(register_module("fc-" + tag + n, torch::nn::Linear(sizes[i], sizes[i + 1])));
            if (i + 2 < sizes.size()) prelus.push_back(register_module("relu-" + tag + n, torch::nn::PReLU()));
        }
    }

    torch::Tensor forward(torch::Tensor x) {
        for (size_t i = 0; i < linears.size(); ++i) {
            x = linears[i]->forward(x);
            if (i < prelus.size()) x = prelus[i]->forward(x);
        }
        return x;
    }

    std::vector<torch::nn::Linear> linears;
    std::vector<torch::nn::PReLU> prelus;
};
TORCH_MODULE(Perceptron);

// Registered in DeepSSMNet_TLNet's order, so the state_dict order matches it.
struct TLNetImpl : torch::nn::Module {
    TLNetImpl(int64_t flattened, int64_t particle_values, int64_t latent) {
        encoder = register_module("CorrespondenceEncoder",
                                  Perceptron(std::vector<int64_t>{particle_values, 1024, 512, latent}, "en"));
        decoder = register_module("CorrespondenceDecoder",
                                  Perceptron(std::vector<int64_t>{latent, 512, 1024, particle_values}, "de"));
        image = register_module("ImageEncoder", DeepSSMNet(flattened, latent));
    }

    Perceptron encoder{nullptr}, decoder{nullptr};
    DeepSSMNet image{nullptr};
};
TORCH_MODULE(TLNet);

// ShapeWorks' focal loss, mean(l² / (1 + exp(a (c − l)))) with l = |x − y|.
torch::Tensor focal(const torch::Tensor &x, const torch::Tensor &y, double a, double c) {
    auto l = (x - y).abs();
    return (l * l / (1 + torch::exp(a * (c - l)))).mean();
}

}  // namespace

struct ctorch_tl_model {
    TLNet net{nullptr};
    std::unique_ptr<torch::optim::Adam> adam;
    torch::Device device{torch::kCPU};
    ctorch_loss loss = CTORCH_LOSS_MSE;
    double a_ae = 10, c_ae = 1.32, a_lat = 10, c_lat = 6.3;
    int64_t depth = 0, height = 0, width = 0, particle_values = 0, latent = 0;

    // Its state entries (parameters, buffers, Adam state) for checkpoints.
    ModelState state() { return ModelState(*net, *adam, "TL-DeepSSM model"); }

    torch::Tensor images(const float *data, int64_t batch) const {
        if (data == nullptr) throw std::invalid_argument("this phase needs the batch's images");
        return torch::from_blob(const_cast<float *>(data), {batch, 1, depth, height, width}, torch::kFloat)
            .to(device);
    }

    torch::Tensor particles(const float *data, int64_t batch) const {
        if (data == nullptr) throw std::invalid_argument("this phase needs the batch's particles");
        return torch::from_blob(const_cast<float *>(data), {batch, particle_values}, torch::kFloat).to(device);
    }

    torch::Tensor particle_loss(const torch::Tensor &x, const torch::Tensor &y) const {
        return loss == CTORCH_LOSS_FOCAL ? focal(x, y, a_ae, c_ae) : torch::mse_loss(x, y);
    }

    torch::Tensor latent_loss(const torch::Tensor &x, const torch::Tensor &y) const {
        return loss == CTORCH_LOSS_FOCAL ? focal(x, y, a_lat, c_lat) : torch::mse_loss(x, y);
    }
};

static void copy_out(const torch::Tensor &tensor, float *out) {
    if (out == nullptr) return;
    auto host = tensor.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
    std::memcpy(out, host.data_ptr<float>(), sizeof(float) * static_cast<size_t>(host.numel()));
}

extern "C" {

ctorch_status ctorch_tl_create(int64_t depth, int64_t height, int64_t width, int64_t particle_values,
                               int64_t latent_dim, uint64_t seed, ctorch_device device,
                               double learning_rate, ctorch_tl_model **model, char **error) {
    *model = nullptr;
    return guarded(error, [&] {
        int64_t flattened = 0;
        if (ctorch_deepssm_flattened_size(depth, height, width, &flattened, error) != CTORCH_OK) {
            return CTORCH_ERROR;
        }
        if (particle_values < 1) return fail(error, "the autoencoder needs at least one particle value");
        if (latent_dim < 1) return fail(error, "the latent code needs at least one value");
        if (!(learning_rate > 0)) return fail(error, "learning rate must be positive");
        auto created = std::make_unique<ctorch_tl_model>();
        created->depth = depth;
        created->height = height;
        created->width = width;
        created->particle_values = particle_values;
        created->latent = latent_dim;
        created->net = TLNet(flattened, particle_values, latent_dim);
        {
            torch::NoGradGuard no_grad;
            // The image encoder starts as the DeepSSM network of this seed does;
            // the autoencoder draws from its own stream.
            initialize(created->net->image, seed);
            auto generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x5F3759DF5EEDULL);
            for (auto *mlp : {&created->net->encoder, &created->net->decoder}) {
                for (auto &linear : (*mlp)->linears) {
                    xavier_normal(linear->weight, generator);
                    linear->bias.zero_();
                }
            }
        }
        if (resolve(device) == CTORCH_DEVICE_CUDA) created->device = torch::Device(torch::kCUDA);
        created->net->to(created->device);
        created->adam = std::make_unique<torch::optim::Adam>(created->net->parameters(),
                                                             torch::optim::AdamOptions(learning_rate));
        *model = created.release();
        return CTORCH_OK;
    });
}

void ctorch_tl_free(ctorch_tl_model *model) {
    try { delete model; } catch (...) {}
}

int64_t ctorch_tl_parameter_count(const ctorch_tl_model *model) {
    int64_t count = 0;
    for (const auto &p : model->net->parameters()) count += p.numel();
    return count;
}

double ctorch_tl_learning_rate(const ctorch_tl_model *model) {
    return static_cast<const torch::optim::AdamOptions &>(model->adam->param_groups()[0].options()).lr();
}

ctorch_status ctorch_tl_set_learning_rate(ctorch_tl_model *model, double learning_rate, char **error) {
    return guarded(error, [&] {
        if (!(learning_rate > 0)) return fail(error, "learning rate must be positive");
        for (auto &group : model->adam->param_groups()) {
            static_cast<torch::optim::AdamOptions &>(group.options()).lr(learning_rate);
        }
        return CTORCH_OK;
    });
}

ctorch_status ctorch_tl_set_loss(ctorch_tl_model *model, ctorch_loss loss, double a_ae, double c_ae,
                                 double a_lat, double c_lat, char **error) {
    return guarded(error, [&] {
        if (loss != CTORCH_LOSS_MSE && loss != CTORCH_LOSS_FOCAL) return fail(error, "unknown loss");
        for (double v : {a_ae, c_ae, a_lat, c_lat}) {
            if (!std::isfinite(v)) return fail(error, "focal parameters must be finite");
        }
        model->loss = loss;
        model->a_ae = a_ae;
        model->c_ae = c_ae;
        model->a_lat = a_lat;
        model->c_lat = c_lat;
        return CTORCH_OK;
    });
}

ctorch_status ctorch_tl_train_batch(ctorch_tl_model *model, ctorch_tl_phase phase, const float *images,
                                    const float *particles, int64_t batch, double alpha,
                                    double *particle_mse, double *latent_mse, char **error) {
    return guarded(error, [&] {
        if (batch < 1) return fail(error, "a batch needs at least one sample");
        if (phase < CTORCH_TL_AUTOENCODER || phase > CTORCH_TL_JOINT) return fail(error, "unknown TL phase");
        *particle_mse = 0;
        *latent_mse = 0;
        auto &net = model->net;
        net->train();
        // No gradient at all (not a zero one) for what a phase leaves out, so
        // Adam neither moves those weights nor ages their moments.
        for (auto &p : net->parameters()) p.mutable_grad() = torch::Tensor();
        auto y = model->particles(particles, batch);
        torch::Tensor objective;
        if (phase == CTORCH_TL_AUTOENCODER) {
            auto reconstructed = net->decoder->forward(net->encoder->forward(y));
            *particle_mse = torch::mse_loss(reconstructed, y).item<double>();
            objective = model->particle_loss(reconstructed, y);
        } else if (phase == CTORCH_TL_TFLANK) {
            torch::Tensor code;
            {
                torch::NoGradGuard frozen;
                code = net->encoder->forward(y);
            }
            auto image_code = net->image->forward(model->images(images, batch));
            *latent_mse = torch::mse_loss(image_code, code).item<double>();
            objective = model->latent_loss(image_code, code);
        } else {
            auto code = net->encoder->forward(y);
            auto reconstructed = net->decoder->forward(code);
            auto image_code = net->image->forward(model->images(images, batch));
            *particle_mse = torch::mse_loss(reconstructed, y).item<double>();
            *latent_mse = torch::mse_loss(image_code, code).item<double>();
            objective = model->particle_loss(reconstructed, y) + alpha * model->latent_loss(image_code, code);
        }
        // A diverged batch must not poison the weights: report it, leave them.
        if (!std::isfinite(objective.item<double>())) {
            if (phase == CTORCH_TL_TFLANK) *latent_mse = NAN; else *particle_mse = NAN;
            return CTORCH_OK;
        }
        objective.backward();
        model->adam->step();
        return CTORCH_OK;
    });
}

ctorch_status ctorch_tl_evaluate(ctorch_tl_model *model, const float *images, const float *particles,
                                 int64_t batch, float *latent, float *reconstructed,
                                 float *image_latent, float *predicted, char **error) {
    return guarded(error, [&] {
        if (batch < 1) return fail(error, "a batch needs at least one sample");
        torch::NoGradGuard no_grad;
        auto &net = model->net;
        net->eval();
        if (particles != nullptr) {
            auto code = net->encoder->forward(model->particles(particles, batch));
            copy_out(code, latent);
            if (reconstructed != nullptr) copy_out(net->decoder->forward(code), reconstructed);
        }
        if (images != nullptr) {
            auto code = net->image->forward(model->images(images, batch));
            copy_out(code, image_latent);
            if (predicted != nullptr) copy_out(net->decoder->forward(code), predicted);
        }
        return CTORCH_OK;
    });
}

int64_t ctorch_tl_state_count(const ctorch_tl_model *model) {
    return const_cast<ctorch_tl_model *>(model)->state().count();
}

ctorch_status ctorch_tl_state_entry(const ctorch_tl_model *model, int64_t index, char **name,
                                    ctorch_dtype *dtype, int32_t *rank, int64_t *shape, char **error) {
    return const_cast<ctorch_tl_model *>(model)->state().describe(index, name, dtype, rank, shape, error);
}

ctorch_status ctorch_tl_state_read(const ctorch_tl_model *model, const char *name, ctorch_dtype dtype,
                                   void *values, int64_t count, char **error) {
    return const_cast<ctorch_tl_model *>(model)->state().read(name, dtype, values, count, error);
}

ctorch_status ctorch_tl_state_write(ctorch_tl_model *model, const char *name, ctorch_dtype dtype,
                                    const void *values, int64_t count, char **error) {
    return model->state().write(name, dtype, values, count, error);
}

}  // extern "C"
