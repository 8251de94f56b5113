// Causal softmax attention for small head sizes (head_dim 8 or 16) on a CPU, forward and backward.
//
// Why it exists: PyTorch's CPU flash-attention kernel works in (query block x key block) tiles
// whose matrix products have an inner size of head_dim; at head_dim 8 (llama2.c's stories260K)
// those products are tiny and most of the kernel's time is tile overhead. Here a block of R = 16
// query rows sits in the vector lanes (one AVX-512 register, two AVX2 ones) and the loops run over
// key positions j: the scores of key j for the 16 rows are D fused multiply-adds of a broadcast
// key element with a register of query elements, and the softmax, P.V and every gradient are lane-
// wise too, with no horizontal sums in the inner loops. Measured against SDPA in bench/RESULTS.md;
// at head_dim 32 and 64 SDPA is faster, so those are not built.
//
// Same function as F.scaled_dot_product_attention(is_causal=True), same saved state as flash
// attention (the output and the log-sum-exp per row; probabilities are recomputed in the backward).
//
// Layout: element (b, h, t, d) of q, k, v, o, dO and their gradients lives at
// b*sb + h*sh + t*st + d (d contiguous), so the (B, T, H, D) tensors of a linear layer are read in
// place. Query head h reads key/value head h / (Hq / Hkv) (grouped-query attention, no copies).
// Work is split over (b, kv head), so the gradients of a shared key/value head are summed by one
// thread without atomics. Plain C++ with no torch headers: small_head_attention.py builds it with
// the system compiler and calls it through ctypes (which releases the GIL).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr int64_t R = 16;  // query rows per block: the vector lanes

struct Strides {
    int64_t b, h, t;
};

// exp(x) for x <= ~0 (scores minus their row maximum), vectorisable: Cody-Waite range reduction
// x = n ln2 + r with |r| <= ln2/2, then the degree-6 Taylor polynomial of e^r (relative error
// <= |r|^7/7! ~ 1.2e-7, about one float ulp).
inline float exp_nonpositive(float x) {
    x = std::max(x, -87.0f);  // keeps 2^n a normal float; exp(-87) ~ 1.6e-38 adds nothing to a row sum >= 1
    const float n = std::nearbyint(x * 1.44269504088896341f);
    const float r = std::fma(n, -0.693145751953125f, std::fma(n, -1.428606765330187e-06f, x));
    float p = 1.0f / 720.0f;
    p = std::fma(p, r, 1.0f / 120.0f);
    p = std::fma(p, r, 1.0f / 24.0f);
    p = std::fma(p, r, 1.0f / 6.0f);
    p = std::fma(p, r, 0.5f);
    p = std::fma(p, r, 1.0f);
    p = std::fma(p, r, 1.0f);
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

template <typename Body>
void parallel_over(int64_t items, int nthreads, Body body) {
    nthreads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, items)));
    if (nthreads == 1) {
        body(0, items);
        return;
    }
    std::vector<std::thread> pool;
    const int64_t per = (items + nthreads - 1) / nthreads;
    for (int t = 1; t < nthreads; ++t) {
        const int64_t lo = t * per, hi = std::min(items, lo + per);
        if (lo < hi) pool.emplace_back(body, lo, hi);
    }
    body(0, std::min(items, per));
    for (auto& th : pool) th.join();
}

// rows [i0, i0 + R) of one head (row stride st), transposed to (D, R) and multiplied by mul;
// rows past T are zero
template <int64_t D>
inline void load_rows_t(const float* x, int64_t st, float* xt, int64_t i0, int64_t T, float mul) {
    for (int64_t r = 0; r < R; ++r)
        for (int64_t d = 0; d < D; ++d) xt[d * R + r] = (i0 + r < T) ? x[(i0 + r) * st + d] * mul : 0.0f;
}

// s[r] = (scaled) q_{i0+r} . k_j for the 16 rows of a block: qt is the block transposed, (D, R)
template <int64_t D>
inline void scores(const float* kj, const float* qt, float* s) {
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) s[r] = 0.0f;
    for (int64_t d = 0; d < D; ++d) {
        const float kd = kj[d];
#pragma omp simd
        for (int64_t r = 0; r < R; ++r) s[r] = std::fma(kd, qt[d * R + r], s[r]);
    }
}

template <int64_t D>
void forward_d(const float* q, Strides sq, const float* k, Strides sk, const float* v, Strides sv, float* o, Strides so,
               float* lse, int64_t B, int64_t Hq, int64_t Hkv, int64_t T, float scale, int nthreads) {
    const int64_t group = Hq / Hkv;
    parallel_over(B * Hkv, nthreads, [=](int64_t lo, int64_t hi) {
        std::vector<float> st(T * R);  // the block's scores, kept between the two passes
        alignas(64) float qt[D * R], ot[D * R], m[R], l[R];
        for (int64_t item = lo; item < hi; ++item) {
            const int64_t b = item / Hkv, hk = item % Hkv;
            const float *kh = k + b * sk.b + hk * sk.h, *vh = v + b * sv.b + hk * sv.h;
            for (int64_t g = 0; g < group; ++g) {
                const int64_t h = hk * group + g;
                const float* qh = q + b * sq.b + h * sq.h;
                float* oh = o + b * so.b + h * so.h;
                for (int64_t i0 = 0; i0 < T; i0 += R) {
                    const int64_t nkeys = std::min(T, i0 + R);  // causal: keys j <= the block's last row
                    load_rows_t<D>(qh, sq.t, qt, i0, T, scale);
                    for (int64_t r = 0; r < R; ++r) m[r] = -INFINITY;
                    for (int64_t j = 0; j < nkeys; ++j) {  // pass 1: scores and the row maxima
                        float* s = st.data() + j * R;
                        scores<D>(kh + j * sk.t, qt, s);
#pragma omp simd
                        for (int64_t r = 0; r < R; ++r) m[r] = (j <= i0 + r) ? std::max(m[r], s[r]) : m[r];
                    }
                    std::fill(ot, ot + D * R, 0.0f);
                    for (int64_t r = 0; r < R; ++r) l[r] = 0.0f;
                    for (int64_t j = 0; j < nkeys; ++j) {  // pass 2: exp, row sums and P.V together
                        float* s = st.data() + j * R;
#pragma omp simd
                        for (int64_t r = 0; r < R; ++r) {
                            s[r] = (j <= i0 + r) ? exp_nonpositive(s[r] - m[r]) : 0.0f;
                            l[r] += s[r];
                        }
                        const float* vj = vh + j * sv.t;
                        for (int64_t d = 0; d < D; ++d) {
                            const float vd = vj[d];
#pragma omp simd
                            for (int64_t r = 0; r < R; ++r) ot[d * R + r] = std::fma(s[r], vd, ot[d * R + r]);
                        }
                    }
                    for (int64_t r = 0; r < R && i0 + r < T; ++r) {
                        const float inv = 1.0f / l[r];
                        for (int64_t d = 0; d < D; ++d) oh[(i0 + r) * so.t + d] = ot[d * R + r] * inv;
                        lse[(b * Hq + h) * T + i0 + r] = m[r] + std::log(l[r]);
                    }
                }
            }
        }
    });
}

template <int64_t D>
void backward_d(const float* q, Strides sq, const float* k, Strides sk, const float* v, Strides sv,
                const float* o, Strides so, const float* dout, Strides sd, const float* lse,
                float* dq, Strides sdq, float* dk, Strides sdk, float* dv, Strides sdv,
                int64_t B, int64_t Hq, int64_t Hkv, int64_t T, float scale, int nthreads) {
    const int64_t group = Hq / Hkv;
    parallel_over(B * Hkv, nthreads, [=](int64_t lo, int64_t hi) {
        // dK and dV sum over query rows; they are kept per lane ([j][d][r]) and the lanes added
        // once per key/value head, so the inner loops need no horizontal sums
        std::vector<float> dkl(T * D * R), dvl(T * D * R);
        alignas(64) float qt[D * R], dot[D * R], dqt[D * R], p[R], ds[R], delta[R], lse_b[R];
        for (int64_t item = lo; item < hi; ++item) {
            const int64_t b = item / Hkv, hk = item % Hkv;
            const float *kh = k + b * sk.b + hk * sk.h, *vh = v + b * sv.b + hk * sv.h;
            std::fill(dkl.begin(), dkl.end(), 0.0f);
            std::fill(dvl.begin(), dvl.end(), 0.0f);
            for (int64_t g = 0; g < group; ++g) {
                const int64_t h = hk * group + g;
                const float *qh = q + b * sq.b + h * sq.h, *oh = o + b * so.b + h * so.h;
                const float* doh = dout + b * sd.b + h * sd.h;
                float* dqh = dq + b * sdq.b + h * sdq.h;
                for (int64_t i0 = 0; i0 < T; i0 += R) {
                    const int64_t nkeys = std::min(T, i0 + R);
                    load_rows_t<D>(qh, sq.t, qt, i0, T, scale);
                    load_rows_t<D>(doh, sd.t, dot, i0, T, 1.0f);
                    for (int64_t r = 0; r < R; ++r) {
                        float acc = 0.0f;  // rowsum(dO * O): the softmax Jacobian's correction term
                        if (i0 + r < T)
                            for (int64_t d = 0; d < D; ++d) acc += doh[(i0 + r) * sd.t + d] * oh[(i0 + r) * so.t + d];
                        delta[r] = acc;
                        lse_b[r] = (i0 + r < T) ? lse[(b * Hq + h) * T + i0 + r] : 0.0f;
                    }
                    std::fill(dqt, dqt + D * R, 0.0f);
                    for (int64_t j = 0; j < nkeys; ++j) {
                        const float *kj = kh + j * sk.t, *vj = vh + j * sv.t;
                        scores<D>(kj, qt, p);
#pragma omp simd
                        for (int64_t r = 0; r < R; ++r) {  // the forward's probabilities, from its log-sum-exp
                            p[r] = (j <= i0 + r) ? exp_nonpositive(p[r] - lse_b[r]) : 0.0f;
                            ds[r] = 0.0f;
                        }
                        float* dvj = dvl.data() + j * D * R;
                        for (int64_t d = 0; d < D; ++d) {  // dP = dO . v_j ; dV_j += P dO
                            const float vd = vj[d];
#pragma omp simd
                            for (int64_t r = 0; r < R; ++r) {
                                ds[r] = std::fma(vd, dot[d * R + r], ds[r]);
                                dvj[d * R + r] = std::fma(p[r], dot[d * R + r], dvj[d * R + r]);
                            }
                        }
#pragma omp simd
                        for (int64_t r = 0; r < R; ++r) ds[r] = p[r] * (ds[r] - delta[r]);  // dS; the scale is in qt
                        float* dkj = dkl.data() + j * D * R;
                        for (int64_t d = 0; d < D; ++d) {  // dQ += dS k_j ; dK_j += dS q
                            const float kd = kj[d];
#pragma omp simd
                            for (int64_t r = 0; r < R; ++r) {
                                dqt[d * R + r] = std::fma(ds[r], kd, dqt[d * R + r]);
                                dkj[d * R + r] = std::fma(ds[r], qt[d * R + r], dkj[d * R + r]);
                            }
                        }
                    }
                    for (int64_t r = 0; r < R && i0 + r < T; ++r)
                        for (int64_t d = 0; d < D; ++d) dqh[(i0 + r) * sdq.t + d] = dqt[d * R + r] * scale;
                }
            }
            float *dkh = dk + b * sdk.b + hk * sdk.h, *dvh = dv + b * sdv.b + hk * sdv.h;
            for (int64_t j = 0; j < T; ++j)
                for (int64_t d = 0; d < D; ++d) {
                    float sk_sum = 0.0f, sv_sum = 0.0f;
                    for (int64_t r = 0; r < R; ++r) {
                        sk_sum += dkl[(j * D + d) * R + r];
                        sv_sum += dvl[(j * D + d) * R + r];
                    }
                    dkh[j * sdk.t + d] = sk_sum;
                    dvh[j * sdv.t + d] = sv_sum;
                }
        }
    });
}

Strides strides_of(const int64_t* s) { return Strides{s[0], s[1], s[2]}; }

}  // namespace

extern "C" {

int sha_abi_version() { return 3; }

// head sizes the kernel is built for (compile-time loops); 0 for any other
int sha_supports(int64_t D) { return D == 8 || D == 16; }

// strides: 3 per tensor (batch, head, position) in elements; the head dimension is contiguous
void sha_forward(const float* q, const float* k, const float* v, float* o, float* lse, const int64_t* strides,
                 int64_t B, int64_t Hq, int64_t Hkv, int64_t T, int64_t D, float scale, int nthreads) {
    const Strides sq = strides_of(strides), sk = strides_of(strides + 3), sv = strides_of(strides + 6),
                  so = strides_of(strides + 9);
    if (D == 8) forward_d<8>(q, sq, k, sk, v, sv, o, so, lse, B, Hq, Hkv, T, scale, nthreads);
    if (D == 16) forward_d<16>(q, sq, k, sk, v, sv, o, so, lse, B, Hq, Hkv, T, scale, nthreads);
}

void sha_backward(const float* q, const float* k, const float* v, const float* o, const float* dout,
                  const float* lse, float* dq, float* dk, float* dv, const int64_t* strides,
                  int64_t B, int64_t Hq, int64_t Hkv, int64_t T, int64_t D, float scale, int nthreads) {
    Strides s[8];
    for (int i = 0; i < 8; ++i) s[i] = strides_of(strides + 3 * i);
    if (D == 8) backward_d<8>(q, s[0], k, s[1], v, s[2], o, s[3], dout, s[4], lse, dq, s[5], dk, s[6], dv, s[7],
                              B, Hq, Hkv, T, scale, nthreads);
    if (D == 16) backward_d<16>(q, s[0], k, s[1], v, s[2], o, s[3], dout, s[4], lse, dq, s[5], dk, s[6], dv, s[7],
                                B, Hq, Hkv, T, scale, nthreads);
}

}  // extern "C"
