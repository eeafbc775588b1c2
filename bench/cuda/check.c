/*
 * The libtorch shim (ctorch.h) on a CUDA device: correctness checks and
 * training-step timings, for machines without Swift. Build and run with
 * bench/cuda/run.sh, which compiles the shim's sources against the
 * libtorch of an installed PyTorch.
 *
 *   check [STEPS]    STEPS timed training steps per input size (default 20)
 *
 * Prints `ok <check>` or `FAIL <check>: <why>` per check, `time ...` lines
 * with seconds, and exits 1 when any check failed.
 */
#include "ctorch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

static void check(int condition, const char *name, const char *why) {
    if (condition) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, why ? why : "");
        failures++;
    }
    fflush(stdout);
}

/* Reports a failed call and returns 1 when status is an error. */
static int failed(ctorch_status status, char *error, const char *what) {
    if (status == CTORCH_OK) return 0;
    printf("FAIL %s: %s\n", what, error ? error : "(no message)");
    ctorch_free_string(error);
    failures++;
    return 1;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* SplitMix64 in [0, 1): a fixed sequence. */
static uint64_t state = 12345;
static float unit(void) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (float)((z ^ (z >> 31)) >> 40) / (float)(1 << 24);
}

/* Images whose halves hold the two targets (plus noise): learnable. */
static void regression(int64_t batch, int64_t d, int64_t h, int64_t w, int64_t k, float *images, float *targets) {
    const int64_t n = d * h * w;
    for (int64_t b = 0; b < batch; ++b) {
        for (int64_t j = 0; j < k; ++j) targets[b * k + j] = unit() * 2 - 1;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t slab = (i % w) * k / w;
            images[b * n + i] = targets[b * k + slab] + 0.1f * (unit() - 0.5f);
        }
    }
}

static ctorch_model *create(int64_t d, int64_t h, int64_t w, int64_t k, ctorch_device device, double lr) {
    ctorch_model *model = NULL;
    char *error = NULL;
    if (failed(ctorch_model_create(d, h, w, k, 7, device, lr, &model, &error), error, "create model")) return NULL;
    return model;
}

/* Copies every parameter and buffer of `from` into `to` (same network size). */
static int copy_state(ctorch_model *from, ctorch_model *to) {
    const int64_t count = ctorch_model_state_count(from);
    for (int64_t i = 0; i < count; ++i) {
        char *name = NULL, *error = NULL;
        ctorch_dtype dtype;
        int32_t rank;
        int64_t shape[CTORCH_MAX_RANK], n = 1;
        if (failed(ctorch_model_state_entry(from, i, &name, &dtype, &rank, shape, &error), error, "state entry")) return 0;
        for (int32_t r = 0; r < rank; ++r) n *= shape[r];
        if (strncmp(name, "optimizer/", 10) != 0) {
            const size_t size = dtype == CTORCH_FLOAT64 || dtype == CTORCH_INT64 ? 8 : dtype == CTORCH_UINT8 ? 1 : 4;
            void *values = malloc((size_t)n * size);
            int ok = !failed(ctorch_model_state_read(from, name, dtype, values, n, &error), error, name) &&
                     !failed(ctorch_model_state_write(to, name, dtype, values, n, &error), error, name);
            free(values);
            if (!ok) { ctorch_free_string(name); return 0; }
        }
        ctorch_free_string(name);
    }
    return 1;
}

/* Seconds per training step (median of `steps` after one warm-up) at d×h×w. */
static double time_steps(int64_t d, int64_t h, int64_t w, int steps, ctorch_device device) {
    const int64_t batch = 8, k = 6;
    ctorch_model *model = create(d, h, w, k, device, 1e-4);
    if (!model) return -1;
    float *images = malloc(sizeof(float) * (size_t)(batch * d * h * w));
    float *targets = malloc(sizeof(float) * (size_t)(batch * k));
    regression(batch, d, h, w, k, images, targets);
    double *times = calloc((size_t)steps, sizeof(double));
    for (int s = 0; s <= steps; ++s) {
        double loss = 0;
        char *error = NULL;
        const double start = now();
        if (failed(ctorch_model_train_batch(model, images, batch, d, h, w, targets, k, &loss, &error), error, "timed step")) break;
        if (s > 0) times[s - 1] = now() - start;  /* loss read back: the step has finished on the device */
    }
    /* insertion sort, then the median */
    for (int i = 1; i < steps; ++i) {
        double v = times[i];
        int j = i - 1;
        while (j >= 0 && times[j] > v) { times[j + 1] = times[j]; --j; }
        times[j + 1] = v;
    }
    const double median = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    free(times); free(images); free(targets);
    ctorch_model_free(model);
    return median;
}

/* One epoch of a 500-sample pool (400 train in batches of 8, 100 validation one
 * at a time), with the host→device copies of every batch: seconds. */
static double time_epoch(int64_t d, int64_t h, int64_t w, ctorch_device device) {
    const int64_t batch = 8, k = 6, n = d * h * w;
    ctorch_model *model = create(d, h, w, k, device, 1e-4);
    if (!model) return -1;
    float *images = malloc(sizeof(float) * (size_t)(batch * n));
    float *targets = malloc(sizeof(float) * (size_t)(batch * k));
    float predictions[6];
    regression(batch, d, h, w, k, images, targets);
    double loss = 0;
    char *error = NULL;
    failed(ctorch_model_train_batch(model, images, batch, d, h, w, targets, k, &loss, &error), error, "warm-up");
    const double start = now();
    for (int step = 0; step < 50; ++step) {
        if (failed(ctorch_model_train_batch(model, images, batch, d, h, w, targets, k, &loss, &error), error, "epoch step")) break;
    }
    for (int v = 0; v < 100; ++v) {
        if (failed(ctorch_model_evaluate_batch(model, images, 1, d, h, w, predictions, k, &error), error, "validation")) break;
    }
    const double seconds = now() - start;
    free(images); free(targets);
    ctorch_model_free(model);
    return seconds;
}

/* The training split resident on the GPU (ctorch_dataset_*), steps gathered by
 * index with their losses queued on the device (no host synchronisation per
 * batch), against host batches: the same losses, and the epoch times of
 * (a) host batches with a loss read back per step, (b) host batches through
 * pinned memory with queued losses, (c) resident batches with queued losses. */
static void resident_checks(void) {
    char *error = NULL;
    char why[256];
    int64_t free_bytes = 0, total_bytes = 0;
    if (!failed(ctorch_cuda_memory(0, &free_bytes, &total_bytes, &error), error, "cuda memory")) {
        snprintf(why, sizeof why, "free %lld of %lld bytes", (long long)free_bytes, (long long)total_bytes);
        check(free_bytes > 0 && free_bytes <= total_bytes, "the driver reports the GPU's free memory", why);
        printf("info cuda memory: %s\n", why);
    }
    /* Same losses: 8 steps on one batch, host batches vs resident with queued losses. */
    {
        const int64_t d = 60, h = 60, w = 60, k = 2, batch = 4, n = d * h * w;
        float *images = malloc(sizeof(float) * (size_t)(batch * n));
        float targets[8];
        int64_t indices[4] = {0, 1, 2, 3};
        regression(batch, d, h, w, k, images, targets);
        ctorch_model *host = create(d, h, w, k, CTORCH_DEVICE_CUDA, 1e-3);
        ctorch_model *resident = create(d, h, w, k, CTORCH_DEVICE_CUDA, 1e-3);
        ctorch_dataset *data = NULL;
        if (host && resident &&
            !failed(ctorch_dataset_create(resident, batch, 0, &data, &error), error, "dataset create") &&
            !failed(ctorch_dataset_upload(data, 0, batch, images, targets, &error), error, "dataset upload")) {
            double a[8], b[8], ignored = 0;
            int64_t count = 0;
            for (int s = 0; s < 8; ++s) {
                failed(ctorch_model_train_batch(host, images, batch, d, h, w, targets, k, &a[s], &error), error, "host step");
                failed(ctorch_model_train_indexed_batch(resident, data, indices, batch, 1, &ignored, &error), error, "resident step");
            }
            check(ctorch_model_queued_losses(resident) == 8, "8 losses queued on the device", "queue length differs");
            failed(ctorch_model_take_losses(resident, b, 8, &count, &error), error, "take losses");
            double worst = 0;
            for (int s = 0; s < 8; ++s) worst = fmax(worst, fabs(a[s] - b[s]) / fmax(fabs(a[s]), 1e-12));
            snprintf(why, sizeof why, "largest relative difference %.3g over %lld losses", worst, (long long)count);
            check(count == 8 && worst < 1e-3, "resident queued losses follow the host batches' (< 1e-3)", why);
        }
        if (data) ctorch_dataset_free(data);
        if (host) ctorch_model_free(host);
        if (resident) ctorch_model_free(resident);
        free(images);
    }
    /* Epoch times at the full image size: 400 samples, 50 batches of 8. */
    const int64_t d = 78, h = 96, w = 102, k = 6, batch = 8, pool = 400, n = d * h * w;
    float *images = malloc(sizeof(float) * (size_t)(batch * n));
    float *targets = malloc(sizeof(float) * (size_t)(batch * k));
    regression(batch, d, h, w, k, images, targets);
    ctorch_model *model = create(d, h, w, k, CTORCH_DEVICE_CUDA, 1e-4);
    ctorch_dataset *data = NULL;
    if (!model || failed(ctorch_dataset_create(model, pool, 0, &data, &error), error, "dataset of 400")) {
        if (model) ctorch_model_free(model);
        free(images); free(targets);
        return;
    }
    double start = now();
    for (int64_t first = 0; first < pool; first += batch) {
        if (failed(ctorch_dataset_upload(data, first, batch, images, targets, &error), error, "upload")) break;
    }
    double loss = 0;
    int64_t count = 0;
    double *losses = malloc(sizeof(double) * 64);
    failed(ctorch_model_train_batch(model, images, batch, d, h, w, targets, k, &loss, &error), error, "warm-up");
    printf("time upload 400 samples 1x78x96x102 to cuda: %.2f s (%.2f GiB)\n", now() - start,
           (double)ctorch_dataset_bytes(data) / (1 << 30));
    int64_t indices[8];
    for (int mode = 0; mode < 3; ++mode) {
        start = now();
        for (int step = 0; step < 50; ++step) {
            for (int i = 0; i < batch; ++i) indices[i] = (step * 37 + i * 53) % pool;
            ctorch_status status = mode == 0 ? ctorch_model_train_batch(model, images, batch, d, h, w, targets, k, &loss, &error)
                                 : mode == 1 ? ctorch_model_train_batch_deferred(model, images, batch, d, h, w, targets, k, &error)
                                             : ctorch_model_train_indexed_batch(model, data, indices, batch, 1, &loss, &error);
            if (failed(status, error, "epoch step")) break;
        }
        if (mode > 0) failed(ctorch_model_take_losses(model, losses, 64, &count, &error), error, "take losses");
        printf("time epoch cuda 1x78x96x102 50 batches of 8, %s: %.2f s\n",
               mode == 0 ? "host batches, loss read back per step"
                         : mode == 1 ? "host batches via pinned memory, losses queued" : "resident, losses queued",
               now() - start);
        fflush(stdout);
    }
    free(losses);
    ctorch_dataset_free(data);
    ctorch_model_free(model);
    free(images); free(targets);
}

int main(int argc, char **argv) {
    const int steps = argc > 1 ? atoi(argv[1]) : 20;
    char *error = NULL;
    char why[512];
    printf("libtorch %s, built with CUDA: %d, CUDA devices: %d\n", ctorch_version(), ctorch_built_with_cuda(),
           ctorch_cuda_device_count());

    ctorch_device resolved = CTORCH_DEVICE_CPU;
    if (!failed(ctorch_resolve_device(CTORCH_DEVICE_AUTO, &resolved, &error), error, "resolve auto")) {
        check(resolved == CTORCH_DEVICE_CUDA, "auto resolves to cuda", "auto picked the CPU");
    }
    if (resolved != CTORCH_DEVICE_CUDA) {
        printf("no usable CUDA device; stopping\n");
        return 1;
    }
    failed(ctorch_set_deterministic(1, 1, &error), error, "deterministic (warn only)");
    failed(ctorch_manual_seed(1, &error), error, "manual seed");

    /* 1. Training on CUDA: the loss falls on a learnable batch. */
    const int64_t d = 60, h = 60, w = 60, k = 2, batch = 4, n = d * h * w;
    float *images = malloc(sizeof(float) * (size_t)(batch * n));
    float targets[8];
    regression(batch, d, h, w, k, images, targets);
    ctorch_model *gpu = create(d, h, w, k, CTORCH_DEVICE_CUDA, 1e-3);
    if (!gpu) return 1;
    check(ctorch_model_device(gpu) == CTORCH_DEVICE_CUDA, "model lives on cuda", "model is on the CPU");
    ctorch_model *cpu = create(d, h, w, k, CTORCH_DEVICE_CPU, 1e-3);
    if (!cpu) return 1;

    /* 2. Same weights give the same predictions on both devices. */
    float on_gpu[8], on_cpu[8];
    if (!failed(ctorch_model_evaluate_batch(gpu, images, batch, d, h, w, on_gpu, k, &error), error, "evaluate cuda") &&
        !failed(ctorch_model_evaluate_batch(cpu, images, batch, d, h, w, on_cpu, k, &error), error, "evaluate cpu")) {
        double worst = 0;
        for (int i = 0; i < batch * k; ++i) worst = fmax(worst, fabs((double)on_gpu[i] - (double)on_cpu[i]));
        snprintf(why, sizeof why, "largest difference %.3g", worst);
        check(worst < 1e-2, "same seed: cuda and cpu predictions agree (< 1e-2; cuDNN may use TF32)", why);
        printf("info cuda vs cpu prediction difference %.3g\n", worst);
    }

    double losses[8];
    for (int s = 0; s < 8; ++s) {
        if (failed(ctorch_model_train_batch(gpu, images, batch, d, h, w, targets, k, &losses[s], &error), error, "train cuda")) return 1;
    }
    snprintf(why, sizeof why, "losses %.4g ... %.4g", losses[0], losses[7]);
    check(isfinite(losses[7]) && losses[7] < 0.5 * losses[0], "cuda training: loss falls below half in 8 steps", why);
    printf("info cuda losses %.4g %.4g %.4g %.4g %.4g %.4g %.4g %.4g\n", losses[0], losses[1], losses[2], losses[3],
           losses[4], losses[5], losses[6], losses[7]);

    /* 3. State by name from a CUDA model: optimizer entries exist; a copy to the
     * CPU predicts what the CUDA model predicts. */
    int optimizer_entries = 0;
    for (int64_t i = 0; i < ctorch_model_state_count(gpu); ++i) {
        char *name = NULL;
        ctorch_dtype dtype;
        int32_t rank;
        int64_t shape[CTORCH_MAX_RANK];
        if (ctorch_model_state_entry(gpu, i, &name, &dtype, &rank, shape, &error) == CTORCH_OK) {
            optimizer_entries += strncmp(name, "optimizer/", 10) == 0;
            ctorch_free_string(name);
        } else {
            ctorch_free_string(error);
        }
    }
    snprintf(why, sizeof why, "%d optimizer entries", optimizer_entries);
    check(optimizer_entries == 3 * 33, "cuda Adam state listed (3 entries x 33 parameters)", why);
    if (copy_state(gpu, cpu)) {
        ctorch_model_evaluate_batch(gpu, images, batch, d, h, w, on_gpu, k, &error);
        ctorch_model_evaluate_batch(cpu, images, batch, d, h, w, on_cpu, k, &error);
        double worst = 0;
        for (int i = 0; i < batch * k; ++i) worst = fmax(worst, fabs((double)on_gpu[i] - (double)on_cpu[i]));
        snprintf(why, sizeof why, "largest difference %.3g", worst);
        check(worst < 1e-2, "trained cuda weights copied to cpu predict the same (< 1e-2)", why);
    }

    /* 4. The CUDA generator state round-trips. */
    int64_t size = 0;
    if (!failed(ctorch_rng_state_get(CTORCH_DEVICE_CUDA, NULL, 0, &size, &error), error, "cuda rng size")) {
        uint8_t *a = malloc((size_t)size), *b = malloc((size_t)size);
        ctorch_rng_state_get(CTORCH_DEVICE_CUDA, a, size, &size, &error);
        failed(ctorch_rng_state_set(CTORCH_DEVICE_CUDA, a, size, &error), error, "cuda rng set");
        ctorch_rng_state_get(CTORCH_DEVICE_CUDA, b, size, &size, &error);
        check(memcmp(a, b, (size_t)size) == 0, "cuda generator state round-trips", "state differs");
        free(a); free(b);
    }

    /* 5. Fine-tuning through the fixed decoder on CUDA moves the weights and the loss falls. */
    const float weight[12] = {1, 0, 0, 1, 2, 0, 0, -1, 0.5f, 0.5f, 1, 1};
    const float bias[6] = {10, -4, 3, 0, 1, 2};
    float particles[4 * 6];
    for (int b = 0; b < batch; ++b)
        for (int r = 0; r < 6; ++r)
            particles[b * 6 + r] = bias[r] + weight[r * 2] * targets[b * 2] + weight[r * 2 + 1] * targets[b * 2 + 1];
    failed(ctorch_model_set_decoder(gpu, weight, bias, 6, &error), error, "set decoder");
    failed(ctorch_model_reset_optimizer(gpu, 1e-3, &error), error, "reset optimizer");
    float before[12 * 125], after[12 * 125];
    ctorch_model_state_read(gpu, "conv1.weight", CTORCH_FLOAT32, before, 12 * 125, &error);
    double tuned[6];
    for (int s = 0; s < 6; ++s) {
        if (failed(ctorch_model_train_particles_batch(gpu, images, batch, d, h, w, particles, 6, &tuned[s], &error), error, "fine-tune cuda")) break;
    }
    ctorch_model_state_read(gpu, "conv1.weight", CTORCH_FLOAT32, after, 12 * 125, &error);
    check(memcmp(before, after, sizeof before) != 0, "cuda fine-tuning updates conv1", "conv1 unchanged");
    snprintf(why, sizeof why, "losses %.4g ... %.4g", tuned[0], tuned[5]);
    check(isfinite(tuned[5]) && tuned[5] < tuned[0], "cuda fine-tuning: particle loss falls", why);
    printf("info cuda fine-tune losses %.4g %.4g %.4g %.4g %.4g %.4g\n", tuned[0], tuned[1], tuned[2], tuned[3], tuned[4], tuned[5]);
    ctorch_model_free(gpu);
    ctorch_model_free(cpu);
    free(images);

    /* 6. Timings: one step of batch 8, and a 500-sample epoch. */
    const int64_t sizes[2][3] = {{64, 64, 64}, {78, 96, 102}};
    for (int i = 0; i < 2; ++i) {
        const double step = time_steps(sizes[i][0], sizes[i][1], sizes[i][2], steps, CTORCH_DEVICE_CUDA);
        printf("time step cuda 1x%lldx%lldx%lld batch 8: %.4f s (median of %d)\n", (long long)sizes[i][0],
               (long long)sizes[i][1], (long long)sizes[i][2], step, steps);
        const double epoch = time_epoch(sizes[i][0], sizes[i][1], sizes[i][2], CTORCH_DEVICE_CUDA);
        printf("time epoch cuda 1x%lldx%lldx%lld 500 samples (50 train batches of 8, 100 validation): %.2f s\n",
               (long long)sizes[i][0], (long long)sizes[i][1], (long long)sizes[i][2], epoch);
        fflush(stdout);
    }
    /* 7. The split resident on the GPU, and steps without a host synchronisation. */
    resident_checks();
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
