// libtorch modules and helpers shared by the shim's torch translation units
// (torch_shim.cpp, tl_shim.cpp); not part of the C API.
#ifndef SSMFLOW_CTORCH_TORCH_MODULES_H
#define SSMFLOW_CTORCH_TORCH_MODULES_H

#include "ctorch.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace ctorch_detail {

// Xavier-normal draw of a weight (conv or linear) from `generator`.
inline void xavier_normal(torch::Tensor &weight, at::Generator &generator) {
    const int64_t receptive = weight.dim() > 2 ? weight[0][0].numel() : 1;
    const double fan_in = static_cast<double>(weight.size(1) * receptive);
    const double fan_out = static_cast<double>(weight.size(0) * receptive);
    weight.normal_(0.0, std::sqrt(2.0 / (fan_in + fan_out)), generator);
}

struct DeepSSMNetImpl : torch::nn::Module {
    // Registered in the order of the equivalent PyTorch module, so the
    // state_dict names and order match (`conv1.weight`, `bn1.running_mean`, ...).
    DeepSSMNetImpl(int64_t flattened, int64_t outputs) {
        const int64_t channels[] = {1, 12, 24, 48, 96, 192};
        for (int i = 0; i < 5; ++i) {
            const std::string n = std::to_string(i + 1);
            convs.push_back(register_module(
                "conv" + n, torch::nn::Conv3d(torch::nn::Conv3dOptions(channels[i], channels[i + 1], 5))));
            norms.push_back(register_module(
                "bn" + n, torch::nn::BatchNorm3d(channels[i + 1])));
            prelus.push_back(register_module("prelu" + n, torch::nn::PReLU()));
        }
        fc1 = register_module("fc1", torch::nn::Linear(flattened, 384));
        prelus.push_back(register_module("prelu6", torch::nn::PReLU()));
        fc2 = register_module("fc2", torch::nn::Linear(384, 96));
        prelus.push_back(register_module("prelu7", torch::nn::PReLU()));
        fc3 = register_module("fc3", torch::nn::Linear(96, outputs));
    }

    torch::Tensor forward(torch::Tensor x) {
        for (size_t i = 0; i < 5; ++i) {
            x = prelus[i]->forward(norms[i]->forward(convs[i]->forward(x)));
            if (i % 2 == 0) x = torch::max_pool3d(x, 2, 2);
        }
        x = x.flatten(1);
        x = prelus[5]->forward(fc1->forward(x));
        x = prelus[6]->forward(fc2->forward(x));
        return fc3->forward(x);
    }

    std::vector<torch::nn::Conv3d> convs;
    std::vector<torch::nn::BatchNorm3d> norms;
    std::vector<torch::nn::PReLU> prelus;
    torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};
TORCH_MODULE(DeepSSMNet);

// Xavier-normal weights from a private generator (the global one is left
// alone), zero biases as the reference's weight_init does.
inline void initialize(DeepSSMNet &net, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto xavier = [&](torch::Tensor &weight) { xavier_normal(weight, generator); };
    for (auto &conv : net->convs) { xavier(conv->weight); conv->bias.zero_(); }
    for (auto *fc : {&net->fc1, &net->fc2, &net->fc3}) {
        xavier((*fc)->weight);
        (*fc)->bias.zero_();
    }
}

inline at::ScalarType scalar_type(ctorch_dtype dtype) {
    switch (dtype) {
    case CTORCH_FLOAT32: return at::kFloat;
    case CTORCH_FLOAT64: return at::kDouble;
    case CTORCH_INT64: return at::kLong;
    case CTORCH_UINT8: return at::kByte;
    }
    throw std::invalid_argument("unknown ctorch_dtype " + std::to_string(int(dtype)));
}

inline ctorch_dtype ctorch_type(at::ScalarType type) {
    switch (type) {
    case at::kFloat: return CTORCH_FLOAT32;
    case at::kDouble: return CTORCH_FLOAT64;
    case at::kLong: return CTORCH_INT64;
    case at::kByte: return CTORCH_UINT8;
    default: throw std::invalid_argument(std::string("unsupported tensor dtype ") + c10::toString(type));
    }
}

// The optimizer state's key of a parameter: libtorch 1.x keys it by the
// printed TensorImpl address, 2.x by the address itself.
template <class Map>
typename Map::key_type state_key(const Map &, const torch::Tensor &parameter) {
    using Key = typename Map::key_type;
    if constexpr (std::is_same_v<Key, std::string>) {
        std::ostringstream text;
        text << parameter.unsafeGetTensorImpl();
        return text.str();
    } else {
        return static_cast<Key>(parameter.unsafeGetTensorImpl());
    }
}

}  // namespace ctorch_detail

#endif
