// libtorch modules and helpers shared by the shim's torch translation units
// (torch_shim.cpp, tl_shim.cpp); not part of the C API.
#ifndef SSMFLOW_CTORCH_TORCH_MODULES_H
#define SSMFLOW_CTORCH_TORCH_MODULES_H

#include "ctorch.h"
#include "shim_internal.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <memory>
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

// One named piece of a model's state: a tensor, or an Adam step counter.
struct StateEntry {
    std::string name;
    torch::Tensor tensor;
    int64_t *step = nullptr;
};

// The checkpointable state of a network and its Adam optimizer, named as
// PyTorch names them: each module's parameters then buffers, modules in
// pre-order (the state_dict order), then `optimizer/PARAM/{step,exp_avg,
// exp_avg_sq}` for the parameters that have Adam state. The C API's
// state_count / state_entry / state_read / state_write of every model kind.
class ModelState {
public:
    // `what` names the model in errors ("model", "TL-DeepSSM model").
    ModelState(torch::nn::Module &net, torch::optim::Adam &adam, std::string what)
        : net(net), adam(adam), what(std::move(what)) {}

    torch::optim::AdamParamState *adam_state(const torch::Tensor &parameter) const {
        auto found = adam.state().find(state_key(adam.state(), parameter));
        if (found == adam.state().end()) return nullptr;
        return static_cast<torch::optim::AdamParamState *>(found->second.get());
    }

    torch::optim::AdamParamState &make_adam_state(const torch::Tensor &parameter) {
        if (auto *existing = adam_state(parameter)) return *existing;
        auto state = std::make_unique<torch::optim::AdamParamState>();
        state->exp_avg(torch::zeros_like(parameter, at::MemoryFormat::Preserve));
        state->exp_avg_sq(torch::zeros_like(parameter, at::MemoryFormat::Preserve));
        auto *raw = state.get();
        adam.state()[state_key(adam.state(), parameter)] = std::move(state);
        return *raw;
    }

    std::vector<StateEntry> entries() const {
        std::vector<StateEntry> list;
        for (const auto &module : net.named_modules("", false)) {
            for (const auto &p : module.value()->named_parameters(false)) {
                list.push_back({module.key() + "." + p.key(), p.value()});
            }
            for (const auto &b : module.value()->named_buffers(false)) {
                list.push_back({module.key() + "." + b.key(), b.value()});
            }
        }
        for (const auto &p : net.named_parameters(true)) {
            auto *state = adam_state(p.value());
            if (state == nullptr) continue;
            const std::string prefix = "optimizer/" + p.key() + "/";
            list.push_back({prefix + "step", torch::Tensor(), &state->step()});
            list.push_back({prefix + "exp_avg", state->exp_avg()});
            list.push_back({prefix + "exp_avg_sq", state->exp_avg_sq()});
        }
        return list;
    }

    // The entry `name`; with `create`, Adam state is made for an `optimizer/...` name when absent.
    StateEntry find(const std::string &name, bool create) {
        for (auto &entry : entries()) {
            if (entry.name == name) return entry;
        }
        const std::string prefix = "optimizer/";
        const auto slash = name.rfind('/');
        if (create && name.rfind(prefix, 0) == 0 && slash > prefix.size()) {
            const std::string parameter = name.substr(prefix.size(), slash - prefix.size());
            for (const auto &p : net.named_parameters(true)) {
                if (p.key() != parameter) continue;
                make_adam_state(p.value());
                for (auto &entry : entries()) {
                    if (entry.name == name) return entry;
                }
            }
        }
        throw std::invalid_argument("the " + what + " has no state entry named '" + name +
                                    "'; it may come from a " + what + " of another size or kind");
    }

    int64_t count() const {
        try { return static_cast<int64_t>(entries().size()); } catch (...) { return 0; }
    }

    ctorch_status describe(int64_t index, char **name, ctorch_dtype *dtype, int32_t *rank, int64_t *shape,
                           char **error) const {
        return guarded(error, [&] {
            const auto list = entries();
            if (index < 0 || index >= static_cast<int64_t>(list.size())) {
                return fail(error, "state entry index " + std::to_string(index) + " is out of range 0..<" +
                                       std::to_string(list.size()));
            }
            const auto &entry = list[static_cast<size_t>(index)];
            if (entry.step != nullptr) {
                *dtype = CTORCH_INT64;
                *rank = 0;
            } else {
                if (entry.tensor.dim() > CTORCH_MAX_RANK) return fail(error, "tensor rank exceeds CTORCH_MAX_RANK");
                *dtype = ctorch_type(entry.tensor.scalar_type());
                *rank = static_cast<int32_t>(entry.tensor.dim());
                for (int64_t i = 0; i < entry.tensor.dim(); ++i) shape[i] = entry.tensor.size(i);
            }
            *name = copy_string(entry.name);
            return CTORCH_OK;
        });
    }

    ctorch_status read(const char *name, ctorch_dtype dtype, void *values, int64_t count, char **error) {
        return guarded(error, [&] {
            auto entry = find(name, false);
            torch::Tensor tensor = entry.step != nullptr ? torch::tensor(*entry.step, torch::kLong) : entry.tensor;
            if (tensor.scalar_type() != scalar_type(dtype) || tensor.numel() != count) {
                return fail(error, "state entry '" + entry.name + "' is " + c10::toString(tensor.scalar_type()) +
                                       " with " + std::to_string(tensor.numel()) + " elements, not " +
                                       c10::toString(scalar_type(dtype)) + " with " + std::to_string(count));
            }
            auto host = tensor.detach().to(torch::kCPU).contiguous();
            std::memcpy(values, host.data_ptr(), host.nbytes());
            return CTORCH_OK;
        });
    }

    ctorch_status write(const char *name, ctorch_dtype dtype, const void *values, int64_t count, char **error) {
        return guarded(error, [&] {
            auto entry = find(name, true);
            torch::Tensor target = entry.step != nullptr ? torch::tensor(int64_t(0), torch::kLong) : entry.tensor;
            if (target.scalar_type() != scalar_type(dtype) || target.numel() != count) {
                return fail(error, "state entry '" + entry.name + "' is " + c10::toString(target.scalar_type()) +
                                       " with " + std::to_string(target.numel()) + " elements; got " +
                                       c10::toString(scalar_type(dtype)) + " with " + std::to_string(count));
            }
            if (entry.step != nullptr) {
                *entry.step = *static_cast<const int64_t *>(values);
                return CTORCH_OK;
            }
            torch::NoGradGuard no_grad;
            auto source = torch::from_blob(const_cast<void *>(values), target.sizes(), target.scalar_type());
            target.copy_(source);
            return CTORCH_OK;
        });
    }

private:
    torch::nn::Module &net;
    torch::optim::Adam &adam;
    std::string what;
};

}  // namespace ctorch_detail

#endif
