// Intensity-based rigid / similarity registration with ITK's v4 framework:
// normalised correlation, regular-step gradient descent, a Gaussian
// pyramid, started from the centres of mass. Everything ITK-specific stays
// behind citk.h.
#include "citk.h"
#include "itk_clang_compat.h"  // before any ITK header

#include <itkCenteredTransformInitializer.h>
#include <itkImage.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkCorrelationImageToImageMetricv4.h>
#include <itkMultiThreaderBase.h>
#include <itkRegistrationParameterScalesFromPhysicalShift.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkSimilarity3DTransform.h>
#include <itkVersion.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using Image = itk::Image<float, 3>;
using Transform = itk::Similarity3DTransform<double>;

char *copy_string(const std::string &text) {
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    if (copy != nullptr) std::memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
}

citk_status fail(char **error, const std::string &message) {
    if (error != nullptr) *error = copy_string(message);
    return CITK_ERROR;
}

// Runs `body`, turning every C++ exception into a status and a message.
template <class Body>
citk_status guarded(char **error, Body &&body) {
    if (error != nullptr) *error = nullptr;
    try {
        return body();
    } catch (const itk::ExceptionObject &e) {
        return fail(error, std::string("ITK: ") + e.GetDescription());
    } catch (const std::exception &e) {
        return fail(error, std::string("ITK: ") + e.what());
    } catch (...) {
        return fail(error, "ITK: unknown exception");
    }
}

Image::Pointer make_image(const float *voxels, const int64_t *dims, const double *geometry) {
    auto image = Image::New();
    Image::SizeType size;
    Image::SpacingType spacing;
    Image::PointType origin;
    for (unsigned d = 0; d < 3; ++d) {
        size[d] = static_cast<Image::SizeValueType>(dims[d]);
        spacing[d] = geometry[d];
        origin[d] = geometry[3 + d];
    }
    image->SetRegions(Image::RegionType(size));
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->Allocate();
    std::memcpy(image->GetBufferPointer(), voxels, sizeof(float) * static_cast<size_t>(dims[0] * dims[1] * dims[2]));
    return image;
}

}  // namespace

extern "C" {

const char *citk_version(void) { return ITK_VERSION_STRING; }

void citk_free_string(char *string) { std::free(string); }

citk_status citk_register_similarity(const float *fixed, const int64_t *fixed_dims, const double *fixed_geometry,
                                     const float *moving, const int64_t *moving_dims,
                                     const double *moving_geometry, int32_t allow_scale, int32_t levels,
                                     int32_t iterations, int32_t threads, double *transform, double *metric_value,
                                     double *fixed_overlap, char **error) {
    return guarded(error, [&] {
        for (int d = 0; d < 3; ++d) {
            if (fixed_dims[d] < 4 || moving_dims[d] < 4) return fail(error, "images need at least 4 voxels per axis");
            if (!(fixed_geometry[d] > 0) || !(moving_geometry[d] > 0)) return fail(error, "voxel spacings must be positive");
        }
        if (levels < 1 || iterations < 1) return fail(error, "levels and iterations must be at least 1");
        if (threads > 0) itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
        auto fixedImage = make_image(fixed, fixed_dims, fixed_geometry);
        auto movingImage = make_image(moving, moving_dims, moving_geometry);

        auto initial = Transform::New();
        using Initializer = itk::CenteredTransformInitializer<Transform, Image, Image>;
        auto initializer = Initializer::New();
        initializer->SetTransform(initial);
        initializer->SetFixedImage(fixedImage);
        initializer->SetMovingImage(movingImage);
        initializer->MomentsOn();
        initializer->InitializeTransform();

        // Normalised correlation: invariant to a linear change of intensities
        // (another scanner's calibration, window), well conditioned for CT to CT.
        using Metric = itk::CorrelationImageToImageMetricv4<Image, Image>;
        using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
        using Registration = itk::ImageRegistrationMethodv4<Image, Image, Transform>;
        auto metric = Metric::New();
        auto optimizer = Optimizer::New();
        optimizer->SetLearningRate(2.0);
        optimizer->SetMinimumStepLength(1e-4);
        optimizer->SetRelaxationFactor(0.5);
        optimizer->SetNumberOfIterations(static_cast<itk::SizeValueType>(iterations));
        optimizer->SetReturnBestParametersAndValue(true);
        auto scales = itk::RegistrationParameterScalesFromPhysicalShift<Metric>::New();
        scales->SetMetric(metric);
        optimizer->SetScalesEstimator(scales);
        optimizer->SetDoEstimateLearningRateOnce(true);

        auto registration = Registration::New();
        registration->SetFixedImage(fixedImage);
        registration->SetMovingImage(movingImage);
        registration->SetMetric(metric);
        registration->SetOptimizer(optimizer);
        registration->SetInitialTransform(initial);
        registration->InPlaceOn();
        // Every voxel of the fixed image (no random sampling: deterministic).
        registration->SetMetricSamplingStrategy(Registration::MetricSamplingStrategyEnum::NONE);
        Registration::ShrinkFactorsArrayType shrink(static_cast<unsigned>(levels));
        Registration::SmoothingSigmasArrayType sigmas(static_cast<unsigned>(levels));
        for (int32_t l = 0; l < levels; ++l) {
            shrink[l] = 1u << static_cast<unsigned>(levels - 1 - l);
            sigmas[l] = static_cast<double>(levels - 1 - l);
        }
        registration->SetNumberOfLevels(static_cast<itk::SizeValueType>(levels));
        registration->SetShrinkFactorsPerLevel(shrink);
        registration->SetSmoothingSigmasPerLevel(sigmas);
        registration->SmoothingSigmasAreSpecifiedInPhysicalUnitsOff();
        if (allow_scale == 0) {
            // Rigid: the scale parameter (the 7th) stays at its start value.
            Optimizer::ScalesType weights(initial->GetNumberOfParameters());
            weights.Fill(1.0);
            weights[6] = 0.0;
            optimizer->SetWeights(weights);
        }
        registration->Update();

        auto result = registration->GetModifiableTransform();
        const auto matrix = result->GetMatrix();
        const auto offset = result->GetOffset();
        for (unsigned r = 0; r < 3; ++r) {
            for (unsigned c = 0; c < 3; ++c) transform[3 * r + c] = matrix[r][c];
            transform[9 + r] = offset[r];
        }
        // The match under the final transform, at full resolution (the
        // optimizer's own value belongs to its last step and level).
        auto final_transform = Transform::New();
        final_transform->SetFixedParameters(result->GetFixedParameters());
        final_transform->SetParameters(result->GetParameters());
        auto check = Metric::New();
        check->SetFixedImage(fixedImage);
        check->SetMovingImage(movingImage);
        check->SetMovingTransform(final_transform);
        check->Initialize();
        const double value = check->GetValue();
        // No overlapping voxels: no match at all.
        *metric_value = std::isfinite(value) && std::abs(value) <= 1.0 + 1e-9 ? value : 0.0;

        // Overlap: fixed-image voxels (every 2nd along each axis) that map into the moving image.
        int64_t inside = 0, total = 0;
        Image::IndexType index;
        for (int64_t z = 0; z < fixed_dims[2]; z += 2) {
            for (int64_t y = 0; y < fixed_dims[1]; y += 2) {
                for (int64_t x = 0; x < fixed_dims[0]; x += 2) {
                    index[0] = x; index[1] = y; index[2] = z;
                    Image::PointType p;
                    fixedImage->TransformIndexToPhysicalPoint(index, p);
                    const auto q = result->TransformPoint(p);
                    itk::ContinuousIndex<double, 3> ci;
                    ++total;
                    if (movingImage->TransformPhysicalPointToContinuousIndex(q, ci)) ++inside;
                }
            }
        }
        *fixed_overlap = total > 0 ? static_cast<double>(inside) / static_cast<double>(total) : 0.0;
        return CITK_OK;
    });
}

}  // extern "C"
