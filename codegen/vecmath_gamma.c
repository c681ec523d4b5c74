/* vecmath_gamma.c — lgamma, digamma, trigamma and tetragamma as inline LLVM IR: rows of
 * vecmath.c's math_fns table, built on its double-word log and division
 * (vecmath_impl.h).
 *
 * Like the rest of vecmath: straight-line IR, selects instead of branches,
 * no calls but single-instruction intrinsics (fma, fabs, floor, roundeven),
 * no fast-math flags.  Everything is computed in double-word arithmetic on
 * double and rounded once at the end; float is widened, computed in double
 * and narrowed once.  For a = |x| > 0 (lang/math.md has the full story):
 *   - shift: y = a + n with n = 8 - floor(a) for a < 8 (so y in [8, 9)),
 *     using lgamma(a) = lgamma(y) - log(a (a+1) ... (a+n-1)),
 *     psi(a) = psi(y) - sum 1/(a+k), psi1(a) = psi1(y) + sum 1/(a+k)^2,
 *     psi2(a) = psi2(y + 1) - 2 sum 1/(a+k)^3 (k <= n),
 *     each a + k exact as a TwoSum, the product and the sums double-words;
 *   - the asymptotic (Stirling) series at y >= 8, its leading terms in
 *     double-word and the Bernoulli tail in double;
 *   - where the result is near a zero the shift would cancel: Taylor series
 *     of lgamma at 1 and 2 (|a - 1|, |a - 2| <= 1/4, t = a - 1 exact) and of
 *     psi at its positive zero x0 (|a - x0| <= 1/4, t = a - x0 a double-word),
 *     their first four Horner steps in double-word.
 * Negative non-integer x uses the reflection formulas with sin(pi x) and
 * cos(pi x) from x = q/2 + r (q = roundeven(2x), r exact, |r| <= 1/4) and
 * Taylor polynomials of sin(pi r)/r and cos(pi r) (double-word):
 *   lgamma(x) = log(pi) - log|x sin(pi x)| - lgamma(-x)
 *   psi(x)    = psi(-x) - 1/x - pi cot(pi x)
 *   psi1(x)   = pi^2 / sin^2(pi x) - psi1(-x) + 1/x^2
 *   psi2(x)   = psi2(-x) - 2/x^3 - 2 pi^3 cot(pi x) / sin^2(pi x)
 * Near the zeros of lgamma, psi and psi2 on the negative axis these cancel.
 * lgamma's zeros that matter are finitely many (28, in (-16, -2)): there a
 * Taylor series per zero, gathered from a table, replaces the reflection.
 * psi's and psi2's never end, so there the double-word log (relative error
 * 2^-70) bounds the absolute error: see lang/math.md for what that costs.  Coefficients: tests/unit/gamma_coefs.py
 * (mpmath). */
#include <math.h>

#include "vecmath_impl.h"

#define NCOEF(a) ((int)(sizeof a / sizeof a[0]))

/* ---- coefficients (tests/unit/gamma_coefs.py) --------------------------- */

static const double lg1_hi[30] = {
    -0x1.2788cfc6fb619p-1, 0x1.a51a6625307d3p-1, -0x1.9a4d55beab2d7p-2, 0x1.151322ac7d848p-2, -0x1.a8b9c17aa6149p-3, 0x1.5b40cb100c306p-3,
    -0x1.2703a1dcea3aep-3, 0x1.010b36af86397p-3, -0x1.c806706d57db4p-4, 0x1.9a01e385d5f8fp-4, -0x1.748c33114c6d6p-4, 0x1.556ad63243bc4p-4,
    -0x1.3b1d971fc5985p-4, 0x1.2496df8320c5fp-4, -0x1.11133476e7fe0p-4, 0x1.00010064cdeb2p-4, -0x1.e1e2d311e8abdp-5, 0x1.c71ce3a20b419p-5,
    -0x1.af28a1b5688a0p-5, 0x1.9999b3352d5bap-5, -0x1.86186db77bfbfp-5, 0x1.745d1d1778df9p-5, -0x1.642c88591b66dp-5, 0x1.555556aaafdcdp-5,
    -0x1.47ae151eb9fb7p-5, 0x1.3b13b189d925ep-5, -0x1.2f684c00002bcp-5, 0x1.24924936db7bcp-5, -0x1.1a7b961a7b9aap-5, 0x1.111111155556dp-5};
static const double lg1_lo[4] = {0x1.6cb90701fbfabp-58, 0x1.1873d8912200cp-56, 0x1.4c26d1b465993p-59, 0x1.b5f91211196e5p-57};
static const double lg2_hi[20] = {0x1.b0ee6072093cep-2,   0x1.4a34cc4a60fa6p-2,  -0x1.13e001a557607p-4,  0x1.51322ac7d8483p-6,
                                  -0x1.e404fc218f5f2p-8,  0x1.7add6eadb6c30p-9,  -0x1.38ac5c2bf8e08p-10, 0x1.0b36af86396e9p-11,
                                  -0x1.d3fd4c76d2fc8p-13, 0x1.a127b0f17d65ap-14, -0x1.78de5bd7c81efp-15, 0x1.580dcee66eb02p-16,
                                  -0x1.3cbc963ce2243p-17, 0x1.2597a39f34aacp-18, -0x1.11b2eb7679541p-19, 0x1.0064cdeb22f0fp-20,
                                  -0x1.e2600d93cfd2fp-22, 0x1.c76bbb3f07a4dp-23, -0x1.af5a6cbbf8a97p-24, 0x1.99b93c2070b0fp-25};
static const double lg2_lo[4] = {0x1.6cb90701fbfabp-58, 0x1.1873d8912200cp-56, 0x1.fb68be2f8821fp-58, 0x1.afc89088cb729p-60};
static const double psi_x0[2] = {0x1.762d86356be3fp+0, 0x1.b86a722197829p-54};
static const double psi0_hi[25] = {
    0x1.ef72bc8ee38acp-1,   -0x1.c563b54aa1a35p-2,  0x1.08b4294d50381p-2,   -0x1.4fc1317257da8p-3,  0x1.b9a5b6370f3abp-4,
    -0x1.27baba261cc2cp-4,  0x1.8fce02b239ca7p-5,   -0x1.0fa7ec36a7d8fp-5,  0x1.723d6807edcc0p-6,   -0x1.f970508e1b6a2p-7,
    0x1.5955caaa962f3p-7,   -0x1.d828079282eb8p-8,  0x1.42e1acf81d8dcp-8,   -0x1.b9afc7cee8a14p-9,  0x1.2e23345f79aafp-9,
    -0x1.9d626f71d1f7ap-10, 0x1.1acebbd761089p-10,  -0x1.82f6345c65b35p-11, 0x1.08bdae1a261d4p-11,  -0x1.6a3fddea11304p-12,
    0x1.efacab6fb8985p-13,  -0x1.531f5dc5eb563p-13, 0x1.d0080f810fab5p-14,  -0x1.3d7972688af67p-14, 0x1.b2691182c5c34p-15};
static const double psi0_lo[4] = {-0x1.3879eb97bf58dp-55, -0x1.c760306906dfep-56, -0x1.14c9424b7ffe7p-56, -0x1.86b1cc35dbc77p-58};
static const double sinpi_hi[10] = {0x1.921fb54442d18p+1,  -0x1.4abbce625be53p+2, 0x1.466bc6775aae2p+1,  -0x1.32d2cce62bd86p-1,
                                    0x1.50783487ee782p-4,  -0x1.e3074fde8871fp-8, 0x1.e8f434d018d63p-12, -0x1.6fadb9f155744p-16,
                                    0x1.aaec32af93359p-21, -0x1.8a404211f9547p-26};
static const double sinpi_lo[3] = {0x1.1a62633145c07p-53, 0x1.05511c68476a8p-52, -0x1.6dc0cbddb0fc3p-54};
static const double cospi_hi[10] = {0x1.0000000000000p+0,  -0x1.3bd3cc9be45dep+2, 0x1.03c1f081b5ac4p+2,  -0x1.55d3c7e3cbffap+0,
                                    0x1.e1f506891babbp-3,  -0x1.a6d1f2a204a8cp-6, 0x1.f9d38a3763cc3p-10, -0x1.b6e24f44b128fp-14,
                                    0x1.20c62c2f2d7f5p-18, -0x1.2a0c591af8314p-23};
static const double cospi_lo[3] = {0x0.0p+0, -0x1.692b71366cc04p-52, -0x1.32b33f87fc145p-52};
static const double stirling[13] = {0x1.5555555555555p-4,  -0x1.6c16c16c16c17p-9,  0x1.a01a01a01a01ap-11, -0x1.3813813813814p-11,
                                    0x1.b951e2b18ff23p-11, -0x1.f6ab0d9993c7dp-10, 0x1.a41a41a41a41ap-8,  -0x1.e4286cb0f5398p-6,
                                    0x1.6fe96381e0680p-3,  -0x1.6476701181f3ap+0,  0x1.ace44322ce006p+3,  -0x1.39b2525cccc1bp+7,
                                    0x1.12234e81b4e82p+11};
static const double psi_asym[15] = {0x1.5555555555555p-4,  -0x1.1111111111111p-7,  0x1.0410410410410p-8, -0x1.1111111111111p-8,
                                    0x1.f07c1f07c1f08p-8,  -0x1.5995995995996p-6,  0x1.5555555555555p-4, -0x1.c5e5e5e5e5e5ep-2,
                                    0x1.86e7f9b9fe6e8p+1,  -0x1.a74ca514ca515p+4,  0x1.1975cc0ed7304p+8, -0x1.c2f0566566566p+11,
                                    0x1.ac572aaaaaaabp+15, -0x1.dc0b1a5cfbe16p+19, 0x1.31fad7cbf3c00p+24};
static const double psi1_asym[17] = {0x1.5555555555555p-3,  -0x1.1111111111111p-5,  0x1.8618618618618p-6,  -0x1.1111111111111p-5,
                                     0x1.364d9364d9365p-4,  -0x1.0330330330330p-2,  0x1.2aaaaaaaaaaabp+0,  -0x1.c5e5e5e5e5e5ep+2,
                                     0x1.b7c4f8f13e3c5p+5,  -0x1.088fe72cfe72dp+9,  0x1.8301f89467e25p+12, -0x1.523440cc0cc0dp+16,
                                     0x1.5c06d2aaaaaabp+20, -0x1.a089b7115c654p+24, 0x1.1edb2a4f34840p+29, -0x1.c280563b8bcbdp+33,
                                     0x1.901c1cddd4aabp+38};
static const double half_log_2pi[2] = {0x1.d67f1c864beb5p-1, -0x1.65b5a1b7ff5dfp-55};
static const double log_pi[2] = {0x1.250d048e7a1bdp+0, 0x1.7abf2ad8d5088p-57};
static const double pi[2] = {0x1.921fb54442d18p+1, 0x1.1a62633145c07p-53};
static const double psi2_asym[16] = {0x1.0000000000000p-1,  -0x1.5555555555555p-3,  0x1.5555555555555p-3,  -0x1.3333333333333p-2,
                                     0x1.aaaaaaaaaaaabp-1,  -0x1.a52e52e52e52ep+1,  0x1.1800000000000p+4,  -0x1.e244444444444p+6,
                                     0x1.051cf3cf3cf3dp+10, -0x1.5b3cdf6b0df6bp+13, 0x1.16296aaaaaaabp+17, -0x1.0838d29f69f6ap+21,
                                     0x1.25a5c1c000000p+25, -0x1.797ccde7bbbbcp+29, 0x1.15e450fcbadfep+34, -0x1.d09458ed682a3p+38};
static const double two_pi3[2] = {0x1.f019b59389d7cp+5, 0x1.e019558e5380dp-51};
static const double pi2[2] = {0x1.3bd3cc9be45dep+3, 0x1.692b71366cc04p-51};
static const double euler[2] = {0x1.2788cfc6fb619p-1, -0x1.6cb90701fbfabp-58};

enum { LGNEG_ZEROS = 28, LGNEG_TERMS = 13 };
static const double lgneg_x0_hi[28] = {-0x1.5fb410a1bd901p+1, -0x1.3a7fc9600f86cp+1, -0x1.fa471547c2fe5p+1, -0x1.9260dbc9e59afp+1,
                                       -0x1.3f7577a6eeafdp+2, -0x1.0284e78599581p+2, -0x1.7fe92f591f40dp+2, -0x1.4086a57f0b6d9p+2,
                                       -0x1.bffcbf76b86f0p+2, -0x1.8016b25897c8dp+2, -0x1.ffff97f8159cfp+2, -0x1.c0033fdedfe1fp+2,
                                       -0x1.1ffffa3884bd0p+3, -0x1.000034028b3f9p+3, -0x1.3fffff6c0d7c0p+3, -0x1.200005c7768fbp+3,
                                       -0x1.5ffffff28cdd4p+3, -0x1.40000093f2777p+3, -0x1.7ffffffee1127p+3, -0x1.6000000d7322ap+3,
                                       -0x1.9fffffffe9edcp+3, -0x1.800000011eed9p+3, -0x1.bffffffffe6c7p+3, -0x1.a000000016124p+3,
                                       -0x1.dfffffffffe52p+3, -0x1.c000000001939p+3, -0x1.fffffffffffe5p+3, -0x1.e0000000001aep+3};
static const double lgneg_x0_lo[28] = {0x1.a19a96d2e6f85p-54,  -0x1.55f64f98af8d0p-55, -0x1.70d4561291237p-56, -0x1.f717cd335a7b3p-53,
                                       0x1.5de5eab7f12cfp-53,  0x1.e78c1e9e43cfep-53,  -0x1.7dd4ed62cbd32p-52, -0x1.95262b72ca9cap-55,
                                       0x1.853b29347b806p-57,  0x1.27e0f49a4ba72p-54,  -0x1.e54f415a91586p-55, 0x1.20bb7d2324678p-52,
                                       -0x1.ff90c9d2ae925p-53, -0x1.f60cb3cec1cedp-52, 0x1.197cea8c42d7dp-51,  -0x1.b5b610ffb70d4p-54,
                                       0x1.c9924a65aa486p-53,  -0x1.927b45d95e154p-52, -0x1.ce1f7906b30f5p-54, -0x1.8aecb2d37ff52p-51,
                                       0x1.84f40342d001cp-51,  0x1.19d5307e1fb5ep-53,  0x1.d2a30f3dae0fbp-51,  -0x1.84e03341ee8ddp-51,
                                       0x1.fcf9ccfd8867ep-51,  -0x1.d2a2f4a73af63p-51, -0x1.80c18cc43ea26p-53, -0x1.fcf9ccde87210p-51};
/* a third word: x - z must be accurate where x is the double nearest z */
static const double lgneg_x0_lo2[28] = {0x1.140b4ff4b7d60p-108,  -0x1.c4b0cd201366ap-110, 0x1.9e6fadbbc171ap-111,  -0x1.d32a2a65bfd63p-107,
                                        -0x1.4075f5e0494a2p-110, -0x1.2ac17bfd6be92p-108, 0x1.2071c071a2146p-108,  -0x1.bd98d5e0861aap-109,
                                        -0x1.0fa018051dd41p-111, -0x1.72e1ab15a4d03p-110, -0x1.53a5d106f9a3ep-109, 0x1.f5536678d69d3p-106,
                                        0x1.30c0efef78c04p-107,  0x1.ea26620d6b1cap-106,  0x1.7072c5a292198p-105,  -0x1.deb7ad09ec5eap-108,
                                        -0x1.8d05a4e458063p-108, -0x1.0780c21b6e452p-106, 0x1.b43a13e31b9dfp-111,  -0x1.c97d472001b98p-109,
                                        0x1.50556e5aede66p-105,  0x1.8f0dbe4153150p-109,  0x1.774491db8dc05p-107,  0x1.f8391fef50bd4p-105,
                                        0x1.1c0ec5919506cp-105,  0x1.1ce11583b5fc3p-105,  0x1.8d1b2eec9d961p-108,  -0x1.f0bd3dc636171p-105};
static const double lgneg_w[28] = {0x1.64afb7493ccefp-9,  0x1.95cafeec37b04p-9,  0x1.7ab79ccc52d01p-12, 0x1.8fcccb62e3ea9p-11,
                                   0x1.58b94bc85c21ep-14, 0x1.2b71deee18b5bp-12, 0x1.126d65842302ap-16, 0x1.46d31370f98bap-14,
                                   0x1.7341c6e09daf5p-19, 0x1.0fb9fba718d1dp-16, 0x1.b0001d43356bfp-22, 0x1.72aff25c31578p-19,
                                   0x1.b7d84a31e346dp-25, 0x1.afe96ae344113p-22, 0x1.8dca1a0167a6bp-28, 0x1.b7d593309f4a1p-25,
                                   0x1.438142db80236p-31, 0x1.8dc9d81aaceaap-28, 0x1.ddf0e6521a60fp-35, 0x1.43813dc80dccep-31,
                                   0x1.435d414ab2922p-38, 0x1.ddf0e5ac4263cp-35, 0x1.93974a8c7072cp-42, 0x1.435d4141c9216p-38,
                                   0x1.d36790fbd742cp-46, 0x1.93974a8b9f20ep-42, 0x1.f8e21bd08b49dp-50, 0x1.d36790fbc6ac7p-46};
/* coefficient k of zero i at [k * LGNEG_ZEROS + i]; the first 4 double-word */
static const double lgneg_c_hi[364] = {
    -0x1.ea12da904b18cp+0,   0x1.83fe966af535fp+0,    -0x1.4b99d966c5647p+4,   0x1.f20a65f2fac55p+2,    -0x1.d224a3ef9e41fp+6,
    0x1.aca5cf4921642p+4,    -0x1.661f6a43a5e12p+9,   0x1.ed72e0829ae02p+6,    -0x1.3abf7a5cea91bp+12,  0x1.69de49e3af2aap+9,
    -0x1.3af76fe4c2fabp+15,  0x1.3b407aa387bd1p+12,   -0x1.625edfc63db2fp+18,  0x1.3b088fed67718p+15,   -0x1.baf7da5f3795dp+21,
    0x1.6261203919440p+18,   -0x1.308a7d8eadb7cp+25,  0x1.baf825a0c63b2p+21,   -0x1.c8cfbfaf2b0c8p+28,  0x1.308a827152450p+25,
    -0x1.7328cbfacb4e5p+32,  0x1.c8cfc050d4f38p+28,   -0x1.44c3b27faa6bcp+36,  0x1.7328cc0534b1bp+32,   -0x1.30777757fa84ap+40,
    0x1.44c3b28055944p+36,   -0x1.30777757ffa65p+44,  0x1.30777758057b6p+40,   0x1.3267f3c265a52p+3,    0x1.36eebb002f55dp+2,
    0x1.f76deae0436bep+7,    0x1.9d4d2977150efp+4,    0x1.b533c678a3956p+12,   0x1.44415cd813f8ep+8,    0x1.f79dcb794f26fp+17,
    0x1.cecc32ec22f9bp+12,   0x1.8349a2550422dp+23,   0x1.fce23484cfd10p+17,   0x1.838e76caaf123p+29,   0x1.83e85daafbad6p+23,
    0x1.ea8c150480a7ap+35,   0x1.83a3893550edcp+29,   0x1.7f3e8791fa0d2p+42,   0x1.ea8f32fb7f586p+35,   0x1.6a4938065bfd2p+49,
    0x1.7f3ec8ae05f2ep+42,   0x1.97926203e98acp+56,   0x1.6a493dd62402ep+49,   0x1.0d0fa2e06b2f1p+64,   0x1.9792629426754p+56,
    0x1.9bfff16cfee53p+71,   0x1.0d0fa2e7f760fp+64,   0x1.6a1bf33124eddp+79,   0x1.9bfff16dd8075p+71,   0x1.6a1bf3312b084p+87,
    0x1.6a1bf33131f80p+79,   -0x1.4185ac30c8bf2p+4,   0x1.694a6058a7858p+0,    -0x1.d25359d4b2f38p+11,  0x1.c1137124d5c5bp+6,
    -0x1.0d3f7fee65d34p+19,  0x1.559b11b2a9c7cp+12,   -0x1.d6e8088a19ffep+26,  0x1.253d8563f7264p+19,   -0x1.3d91dadc98428p+35,
    0x1.de503a3c37c40p+26,   -0x1.3de68b3256526p+44,  0x1.3e552b5e3c226p+35,   -0x1.c4b30e4bc55c1p+53,  0x1.3e0078db8ada4p+44,
    -0x1.ba18befcaaa63p+63,  0x1.c4b75ee68e2bap+53,   -0x1.1f51f646980c5p+74,  0x1.ba192fa62a5c8p+63,   -0x1.e4da54ebc6dacp+84,
    0x1.1f51fd307a7cdp+74,   -0x1.04105bec453b2p+96,  0x1.e4da55ed2869fp+84,   -0x1.5c71eb305bbbap+107, 0x1.04105bf7369b6p+96,
    -0x1.1f1c1dba92510p+119, 0x1.5c71eb316f30cp+107,  -0x1.1f1c1dba99933p+131, 0x1.1f1c1dbaa1d33p+119,  0x1.f504accc9f19bp+5,
    0x1.1718d7ca09e5bp+3,    0x1.e8f829f141aa5p+15,   0x1.267203d776b0ep+9,    0x1.752a6f5ac2726p+25,   0x1.96d18e21aebdbp+16,
    0x1.ef5d308dbfc97p+35,   0x1.a225df2da6e63p+25,   0x1.24f3d636f3339p+47,   0x1.f9c7b52558abbp+35,   0x1.255c052530c71p+59,
    0x1.25e42a45e905bp+47,   0x1.d5fe468dbbf03p+71,   0x1.257bec9464251p+59,   0x1.1ede14765dc0cp+85,   0x1.d6043fa1ffaa5p+71,
    0x1.005993b17e047p+99,   0x1.1ede75ef431b0p+85,   0x1.447163ae314a4p+113,  0x1.00599beaf8731p+99,   0x1.1ac9dd401f2e4p+128,
    0x1.44716493d49d4p+113,  0x1.4b87e88b6aa31p+143,  0x1.1ac9dd4ffcbb2p+128,  0x1.0019876a17ea6p+159,  0x1.4b87e88cc815ep+143,
    0x1.0019876a208c6p+175,  0x1.0019876a2a5c3p+159,  -0x1.8588458207eacp+7,   0x1.7339fe04b2764p+2,    -0x1.116f7806d26d3p+20,
    0x1.99a6337da39ddp+11,   -0x1.13d5d163bd3f7p+32,  0x1.0261eb5732e40p+21,   -0x1.15ea6b0ab529ep+45,  0x1.3e01773762671p+32,
    -0x1.20427df1b3492p+59,  0x1.1d3d50714416ap+45,   -0x1.20c2a8418126ap+74,  0x1.216a3560743eep+59,   -0x1.043d21bc24decp+90,
    0x1.20e9ea0755a47p+74,   -0x1.8d1a9ab5a5050p+106, 0x1.04414411db7f4p+90,   -0x1.e7ee7dccf100cp+123, 0x1.8d1b435ece20fp+106,
    -0x1.cf2769e629665p+141, 0x1.e7ee915e59f90p+123,  -0x1.47ffb069fc5a3p+160, 0x1.cf276b7feead7p+141,  -0x1.50778e66e7830p+179,
    0x1.47ffb080fcf49p+160,  -0x1.e7562019511d5p+198, 0x1.50778e68a2d38p+179,  -0x1.e756201965a62p+218, 0x1.e75620197cfcep+198,
    0x1.4373f7cc709b3p+9,    0x1.8d32f682aa0bdp+4,    0x1.3e8f3ab9fc1f4p+24,   0x1.293c3f78d3bdbp+14,   0x1.a8c5c53458ca5p+38,
    0x1.55e3dbf99eb3dp+25,   0x1.44d54e9fe2397p+54,   0x1.f7d8d5bdcb186p+38,   0x1.2775e857fb69cp+71,   0x1.4f21e2fb9e060p+54,
    0x1.28139342cef00p+89,   0x1.28e1c70ef5313p+71,   0x1.2c334ae535e1dp+108,  0x1.2843e1313c83bp+89,   0x1.1e4d8c35d22ccp+128,
    0x1.2c3903ec9c90cp+108,  0x1.e3b550a815c55p+148,  0x1.1e4e1e218c99cp+128,  0x1.585bdc3e1a1e0p+170,  0x1.e3b567ef58977p+148,
    0x1.8c49d9a550bffp+192,  0x1.585bddabb4165p+170,  0x1.63b46f95b59ebp+215,  0x1.8c49d9c6aa4a2p+192,  0x1.e300149e44802p+238,
    0x1.63b46f97e8037p+215,  0x1.e300149e5cec2p+262,  0x1.e300149e78ae1p+238,  -0x1.12239bdd6c013p+11,  0x1.809f04ee6e0fap+4,
    -0x1.7dbbe062ffd9ep+28,  0x1.bb97aa0b71e45p+16,   -0x1.5068b3ed69409p+45,  0x1.d14fe49c4e437p+29,   -0x1.8684e40cebb3dp+63,
    0x1.9a8d00c77a92cp+45,   -0x1.377e70b463c13p+83,  0x1.9500994cd8a9ep+63,   -0x1.384066c322246p+104, 0x1.393e2bc330081p+83,
    -0x1.64314b431cd64p+126, 0x1.387bd6a785478p+104,  -0x1.a8a191db10900p+149, 0x1.64393744bb9bdp+126,  -0x1.ed38daa0d4c2cp+173,
    0x1.a8a28e596cccep+149,  -0x1.075951fd3e6e6p+199, 0x1.ed38f6520c29fp+173,  -0x1.ec79de0e58f55p+224, 0x1.075953436fe86p+199,
    -0x1.82c962042fed7p+251, 0x1.ec79de3eb3092p+224,  -0x1.ec6148051096fp+278, 0x1.82c96206f962dp+251,  -0x1.ec6148052da29p+306,
    0x1.ec6148054ea5dp+278,  0x1.dba65e27421c4p+12,   0x1.48eaa81657361p+6,    0x1.d2f76de7bd027p+32,   0x1.51ea3345f5349p+19,
    0x1.0ffa575ea7fe9p+52,   0x1.433dce282da6ep+34,   0x1.df44c1d81c723p+72,   0x1.557fd8c490b4bp+52,   0x1.4f3d28edba5cdp+95,
    0x1.f3a2c23c19d79p+72,   0x1.502bc4dad47d3p+119,  0x1.5164141f5ae6ap+95,   0x1.af6ed589b3a86p+144,  0x1.5074e788de770p+119,
    0x1.4174f65ff8680p+171,  0x1.af79ccdc71d33p+144,  0x1.00b346bb02a7dp+199,  0x1.4175d0d35b3d4p+171,  0x1.9b2f368a135bap+227,
    0x1.00b35733b93d4p+199,  0x1.38615a9e729aap+257,  0x1.9b2f38d024339p+227,  0x1.ad58bb7f9c093p+287,  0x1.38615ac17fba5p+257,
    0x1.0033115fea2e8p+319,  0x1.ad58bb8325232p+287,  0x1.0033115ffb743p+351,  0x1.003311600f15dp+319,  -0x1.a2d2504d7e987p+14,
    0x1.9297adb2def5ap+6,    -0x1.2225fe4f8493dp+37,  0x1.057f65c64b21bp+22,   -0x1.bec12dd78a14bp+58,  0x1.c8399c7588cd0p+38,
    -0x1.2ac3053f4ee19p+82,  0x1.209221a6240a0p+59,   -0x1.6e8557168cf8ep+107, 0x1.39152652eb3abp+82,   -0x1.6faadfece0e2fp+134,
    0x1.712b3a86e1be0p+107,  -0x1.096e446edcfb3p+163, 0x1.7004dd990d7d9p+134,  -0x1.ee6d90f2332c5p+192, 0x1.0975db7d71fc6p+163,
    -0x1.0f71919049fbdp+224, 0x1.ee6f0af10b983p+192,  -0x1.4619ae6d212bep+256, 0x1.0f71a5288c1c1p+224,  -0x1.929453f57ff5ep+289,
    0x1.4619b074745a5p+256,  -0x1.e427911e97b22p+323, 0x1.929454285190cp+289,  -0x1.0ed9119b5a477p+359, 0x1.e427912313eaep+323,
    -0x1.0ed9119b6ed25p+395, 0x1.0ed9119b862b6p+359,  0x1.7581739ee6087p+16,   0x1.286fb8cbaebb3p+8,    0x1.6d12ae1936a57p+41,
    0x1.99c8650e3a38bp+24,   0x1.7382570f089d4p+65,   0x1.45fbe666d9402p+43,   0x1.79226ae04a7a4p+91,   0x1.edc98d3bbb5dap+65,
    0x1.95bb17ce4279bp+119,  0x1.8d45f8be8912ep+91,   0x1.9724323c8991ep+149,  0x1.98fd36b906d52p+119,  0x1.4aaf49e713c02p+181,
    0x1.9792ed5f6dfc9p+149,  0x1.80fd3420fba1dp+214,  0x1.4ab9cba1e346ep+181,  0x1.229f2440f731ep+249,  0x1.80fe7b2913e7cp+214,
    0x1.05dadf39fe06dp+285,  0x1.229f3b905f980p+249,  0x1.06a78089cd9f2p+322,  0x1.05dae10956d50p+285,  0x1.14644886639ffp+360,
    0x1.06a780aea48d7p+322,  0x1.21e9bf7818640p+399,  0x1.146448893bf2bp+360,  0x1.21e9bf7830d28p+439,  0x1.21e9bf784c973p+399,
    -0x1.506c65fad617ep+18,  0x1.a92e0a5de4bf8p+8,    -0x1.cffc2a8f5fd74p+45,  0x1.44520c3a4bb84p+27,   -0x1.380ebf618414ep+72,
    0x1.d68d794caefcep+47,   -0x1.e0dffb5f77a15p+100, 0x1.aabd28e6f7c6bp+72,   -0x1.c5ac12d48f08ep+131, 0x1.fd3214a70281fp+100,
    -0x1.c7684c96f2617p+164, 0x1.c9ae6ef62604ap+131,  -0x1.a0246d9c1b687p+199, 0x1.c7f08cdaef517p+164,  -0x1.2ecd481762ff2p+236,
    0x1.a032f8f11473dp+199,  -0x1.3a4c2ff760a7cp+274, 0x1.2ece6307c7df4p+236,  -0x1.a8c7f835a5b74p+313, 0x1.3a4c4bb249170p+274,
    -0x1.5a302f95ffb66p+354, 0x1.a8c7fb7073eadp+313,  -0x1.3ec2018a6e348p+396, 0x1.5a302fcb6910cp+354,  -0x1.39746ce3ecf1ep+439,
    0x1.3ec2018e0a2a0p+396,  -0x1.39746ce40a008p+483, 0x1.39746ce42b070p+439,  0x1.318ef724f780ep+20,   0x1.1a9d4d8c62a7fp+10,
    0x1.294e1bddb6102p+50,   0x1.02d2219647af7p+30,   0x1.084de4426e886p+79,   0x1.56729dc75f00cp+52,   0x1.352178907a204p+110,
    0x1.73de2dd9728eep+79,   0x1.ff816dad7515cp+143,  0x1.490b47682046dp+110,  0x1.00d1f4874360ap+180,  0x1.02382a95938fcp+144,
    0x1.0806315c1aa49p+218,  0x1.0125c811215a5p+180,  0x1.e04a0b28da2b0p+257,  0x1.0810426bfac85p+218,  0x1.56bc218a07779p+299,
    0x1.e04bf4be0137bp+257,  0x1.5b6940a5e9dd8p+342,  0x1.56bc4286fc1a7p+299,  0x1.cc176afbf85abp+386,  0x1.5b69438798ffep+342,
    0x1.72ae717cbca89p+432,  0x1.cc176b49688bap+386,  0x1.55bb7d2cf50dbp+479,  0x1.72ae718150cdap+432,  0x1.55bb7d2d179c9p+527,
    0x1.55bb7d2d3ee3cp+479,  -0x1.17767260da07ap+22,  0x1.c4cd2594e7015p+10,   -0x1.7fab626523b36p+54,  0x1.9ffcd984abdd5p+32,
    -0x1.c2d90d8b990e9p+85,  0x1.f5ec3352c68c7p+56,   -0x1.903aa9af8baf3p+119, 0x1.465182ebf6449p+86,   -0x1.225f4a6a494c5p+156,
    0x1.ac3b9652b43f1p+119,  -0x1.23af6dd4635e3p+195, 0x1.256845ecbeb17p+156,  -0x1.515dd6b889a42p+236, 0x1.2416931f15426p+195,
    -0x1.7f91af3f00393p+279, 0x1.516bc616e3904p+236,  -0x1.785bd6701e70bp+324, 0x1.7f9356d1e72e2p+279,  -0x1.1e1ece477df90p+371,
    0x1.785bfdae59cc7p+324,  -0x1.33dfa8748ce7ep+419, 0x1.1e1ed0d9a9469p+371,  -0x1.b213d35bbabb0p+468, 0x1.33dfa8acafdf0p+419,
    -0x1.772a91f2a16cbp+519, 0x1.b213d36189b9fp+468,  -0x1.772a91f2ca868p+571, 0x1.772a91f2f93d5p+519};
static const double lgneg_c_lo[112] = {
    -0x1.220130f99b2cfp-54,  -0x1.775909a36a6a4p-55, 0x1.9cba2450afff3p-50,  -0x1.1d258e4b0be84p-53, -0x1.9be272a13babcp-48,
    0x1.a46a2e0d8fe10p-51,   -0x1.0c437b83bc0e6p-45, -0x1.fdc1859aea473p-50, -0x1.8257b8abd0511p-42, 0x1.954b690943b33p-47,
    -0x1.7cc92f0b996a5p-40,  0x1.da1e57343b1efp-43,  0x1.da7fc3ed69467p-37,  -0x1.505613ba29a31p-39, -0x1.16a79518c8122p-33,
    0x1.7d5e8272cda81p-38,   0x1.a95a609877977p-31,  -0x1.20323f10165f2p-35, 0x1.7e94018c6c78dp-27,  -0x1.1233b372bfd9ep-29,
    -0x1.eae875d913775p-24,  -0x1.7ef0726d4e7acp-26, -0x1.1972c0b160b2bp-21, -0x1.f63c3a52c12bfp-24, 0x1.86558a534b1cdp-14,
    -0x1.198d430af8ae5p-21,  0x1.9865588a24e58p-10,  0x1.865586b64d417p-14,  -0x1.1c630ff19dc35p-51, -0x1.8d4b2124a3c2bp-52,
    -0x1.5af99a1af5717p-47,  0x1.a040895788c19p-50,  -0x1.37da6a2c2425cp-43, 0x1.afdc267272131p-49,  -0x1.ada8018d61fb8p-40,
    0x1.b6ecc778e4471p-43,   -0x1.c6f2ef41139eep-31, 0x1.8266e757b9e36p-37,  0x1.292e15f529375p-25,  -0x1.f37538d9dc4bfp-31,
    0x1.344e4cbf514d0p-19,   0x1.f52e3b2434288p-25,  -0x1.2aec811c70219p-12, -0x1.345b1cc229264p-19, 0x1.67505fc89e444p-9,
    0x1.2aec80d262b38p-12,   -0x1.3de4ff7fced10p+2,  -0x1.67505fc8b40f1p-9,  -0x1.012507c5d1fb0p+7,  0x1.3de4ff7fced10p+2,
    0x1.067bfe64cbc35p+17,   0x1.012507c5d1fb0p+7,   0x1.85cd43e7e7f07p+25,  -0x1.067bfe64cbc35p+17, -0x1.0c5ed7c181810p+33,
    0x1.9a32bc18180f9p+25,   0x1.f1612636b5f62p-51,  -0x1.1d8c8b997567ep-55, 0x1.10c02bb7e89cfp-44,  0x1.d6c922cbb9e53p-49,
    0x1.e68bf6fe677fdp-35,   0x1.17b8ada88b735p-43,  -0x1.2c0870846a4e5p-29, -0x1.5cd273d675452p-35, 0x1.4660602020879p-20,
    0x1.9fa7459b07bb9p-29,   0x1.5456a483cfe8fp-10,  -0x1.07b1550dc26d5p-19, -0x1.9ec40ff36c340p-1,  0x1.506573fbed7afp-10,
    -0x1.d18c4e3838944p+9,   -0x1.812d7ba30a12ap-2,  0x1.5d394c074cd78p+19,  -0x1.25660ad7666cbp+9,  0x1.d7c033f5e3bcep+29,
    0x1.e30c5412dae74p+20,   -0x1.d9431e30b4c93p+42, 0x1.57eea4cc6780ap+28,  -0x1.e10eb53b00600p+52, -0x1.00d8d891b4acep+42,
    0x1.4cb53e2f0e2c3p+63,   0x1.8fb703bde5184p+53,  -0x1.353f9503a6902p+74, -0x1.0d92b00afc801p+64, -0x1.eacc021fca67bp-50,
    0x1.83195b0ff1401p-51,   0x1.4b3ff710c00b9p-41,  -0x1.aa60811667addp-45, -0x1.16f1e03cf8943p-32, -0x1.c2f2d4d71257ep-41,
    0x1.87cdc200ae974p-22,   -0x1.fe9ce1f8dad21p-29, 0x1.5966a9a4ef99dp-7,   0x1.b68974dc42ca5p-19,  -0x1.67004ef56ee85p+3,
    0x1.61a64fb0e1334p-9,    -0x1.80705c569ce74p+17, 0x1.8c4e8ef66bf3dp+2,   0x1.13bc920f9bbdcp+31,  -0x1.5a4ead344ca9ep+17,
    -0x1.7c0e48f767be9p+44,  -0x1.a691ceedac73cp+31, -0x1.5328968aae14fp+58, 0x1.8f4a340818f70p+44,  0x1.3ac54eb0924f5p+73,
    -0x1.700de1b90ef9fp+57,  0x1.0794a43a5477dp+89,  -0x1.f1ede5c13663fp+72, 0x1.2f77bc05a600dp+102, 0x1.83a95a93e3479p+89,
    -0x1.fc316c130370fp+118, 0x1.5857dbf8f0dfep+105};

enum { GAMMA_SHIFT = 8 }; /* y = a + n >= 8: where the asymptotic series above suffice */

/* ---- double-word helpers ------------------------------------------------ */

static Dw dwk(const Em *e, const double c[2]) { return (Dw){kf(e, c[0]), kf(e, c[1])}; }
static Dw dw1(const Em *e, LLVMValueRef x) { return (Dw){x, kf(e, 0.0)}; }
static Dw dwneg(const Em *e, Dw a) { return (Dw){ir_fneg(e, a.hi), ir_fneg(e, a.lo)}; }
static Dw dwsel(const Em *e, LLVMValueRef c, Dw a, Dw b) { return (Dw){sel(e, c, a.hi, b.hi), sel(e, c, a.lo, b.lo)}; }
static Dw dwscale(const Em *e, Dw a, double s) { return (Dw){ir_fmul(e, a.hi, kf(e, s)), ir_fmul(e, a.lo, kf(e, s))}; } /* s = 2^k */

/* a + b, error ~2^-104 of the larger. */
static Dw dwadd(const Em *e, Dw a, Dw b) {
  Dw s = two_sum(e, a.hi, b.hi);
  return fast_two_sum(e, s.hi, ir_fadd(e, s.lo, ir_fadd(e, a.lo, b.lo)));
}
static Dw dwsub(const Em *e, Dw a, Dw b) { return dwadd(e, a, dwneg(e, b)); }
static Dw dwrecip(const Em *e, Dw d) { return cg_vm_dw_div_dw(e, dw1(e, kf(e, 1.0)), d); }

/* log(v.hi + v.lo) = log(v.hi) + v.lo/v.hi, v positive. */
static Dw dwlog(const Em *e, Dw v) {
  Dw l = cg_vm_log_dw(e, v.hi);
  return two_sum(e, l.hi, ir_fadd(e, l.lo, ir_fdiv(e, v.lo, v.hi)));
}

/* hi + lo rounded once; an infinite hi (overflow) stays (its lo is NaN). */
static LLVMValueRef dwround(const Em *e, Dw v) {
  return sel(e, fcmp(e, LLVMRealOEQ, ir_fabs(e, v.hi), kf(e, INFINITY)), v.hi, ir_fadd(e, v.hi, v.lo));
}

static LLVMValueRef ir_floor(const Em *e, LLVMValueRef a) { return intrinsic(e, "llvm.floor", &a, 1); }
static LLVMValueRef lt(const Em *e, LLVMValueRef a, double c) { return fcmp(e, LLVMRealOLT, a, kf(e, c)); }
static LLVMValueRef eq(const Em *e, LLVMValueRef a, double c) { return fcmp(e, LLVMRealOEQ, a, kf(e, c)); }
/* |a - c| <= r */
static LLVMValueRef near(const Em *e, LLVMValueRef a, double c, double r) {
  return fcmp(e, LLVMRealOLE, ir_fabs(e, ir_fsub(e, a, kf(e, c))), kf(e, r));
}

/* w * (c[0] + c[1] z + ... + c[n-1] z^(n-1)) with c[0] = 1/12 (both
 * asymptotic series start so): the leading term w/12 in double-word (it is
 * up to 2^-6.6 of the result, whose absolute error must stay near 2^-66
 * where the shift cancels), the rest, below 2^-18, in double. */
static Dw series_tail(const Em *e, Dw w, LLVMValueRef z, const double *c, int n) {
  static const double twelfth[2] = {0x1.5555555555555p-4, 0x1.5555555555555p-58};
  LLVMValueRef rest = ir_fmul(e, ir_fmul(e, w.hi, z), horner(e, z, c + 1, n - 1));
  return dwadd(e, cg_vm_dw_mul(e, w, dwk(e, twelfth)), dw1(e, rest));
}

/* ---- the shift a -> y = a + n ------------------------------------------- */

typedef struct Shift {
  Dw y;                               /* a + n, exact */
  Dw ak[GAMMA_SHIFT];                 /* a + k, exact */
  LLVMValueRef active[GAMMA_SHIFT];   /* k < n */
} Shift;

static Shift shift_up(const Em *e, LLVMValueRef a) {
  Shift s;
  LLVMValueRef n = sel(e, lt(e, a, GAMMA_SHIFT), ir_fsub(e, kf(e, GAMMA_SHIFT), ir_floor(e, a)), kf(e, 0.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) {
    s.ak[k] = two_sum(e, a, kf(e, k));
    s.active[k] = fcmp(e, LLVMRealOGT, n, kf(e, k));
  }
  s.y = two_sum(e, a, n);
  return s;
}

/* t * (c[0] + c[1] t + ...), the first ndw steps in double-word. */
static Dw taylor(const Em *e, Dw t, const double *hi, const double *lo, int n, int ndw) {
  return cg_vm_dw_mul(e, t, cg_vm_horner_dwc(e, t, hi, lo, n, ndw));
}
#define TAYLOR(e, t, name) taylor(e, t, name##_hi, name##_lo, (int)(sizeof name##_hi / sizeof name##_hi[0]), 4)

/* ---- sin(pi a) and cos(pi a) -------------------------------------------- */

/* For finite a >= 0 below 2^52: s ~ +-sin(pi a) and c with
 * cot(pi a) = c/s, 1/sin^2(pi a) = 1/s^2 and |sin(pi a)| = |s|: a = q/2 + r
 * (q = roundeven(2a), r = a - q/2 exact, |r| <= 1/4); for even q,
 * (s, c) = (sin, cos)(pi r), for odd q (cos(pi r), -sin(pi r)). */
typedef struct SinCosPi {
  Dw s, c;
} SinCosPi;

static SinCosPi sincospi(const Em *e, LLVMValueRef a) {
  LLVMValueRef q = ir_roundeven(e, ir_fmul(e, a, kf(e, 2.0)));
  LLVMValueRef r = ir_fma(e, q, kf(e, -0.5), a);
  Dw z = cg_vm_dw_mul(e, dw1(e, r), dw1(e, r));
  Dw sn = cg_vm_dw_mul(e, dw1(e, r), cg_vm_horner_dwc(e, z, sinpi_hi, sinpi_lo, NCOEF(sinpi_hi), 3));
  Dw cs = cg_vm_horner_dwc(e, z, cospi_hi, cospi_lo, NCOEF(cospi_hi), 3);
  LLVMValueRef odd = LLVMBuildTrunc(e->b, LLVMBuildFPToSI(e->b, q, e->ity, ""), LLVMTypeOf(fcmp(e, LLVMRealOEQ, a, a)), "");
  SinCosPi p = {dwsel(e, odd, cs, sn), dwsel(e, odd, dwneg(e, sn), cs)};
  return p;
}

/* x is a pole of the gamma function: 0, a negative integer or -inf. */
static LLVMValueRef at_pole(const Em *e, LLVMValueRef x) {
  return bool_or(e, eq(e, x, 0.0), bool_and(e, lt(e, x, 0.0), fcmp(e, LLVMRealOEQ, ir_floor(e, x), x)));
}

/* ---- lgamma ------------------------------------------------------------- */

/* lgamma(a) for a > 0 finite, as a double-word (+inf where it overflows). */
static Dw lgamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw p = dw1(e, kf(e, 1.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) p = dwsel(e, s.active[k], cg_vm_dw_mul(e, p, s.ak[k]), p);
  /* (y - 1/2)(log y - 1) - 1/2 + log(2 pi)/2 + sum B2k / (2k (2k-1) y^(2k-1)) */
  Dw t = cg_vm_dw_mul(e, dwadd(e, s.y, dw1(e, kf(e, -0.5))), dwadd(e, dwlog(e, s.y), dw1(e, kf(e, -1.0))));
  LLVMValueRef ovf = eq(e, t.hi, INFINITY);
  Dw iy = dwrecip(e, s.y);
  Dw corr = series_tail(e, iy, ir_fmul(e, iy.hi, iy.hi), stirling, NCOEF(stirling));
  Dw c = {kf(e, half_log_2pi[0] - 0.5), kf(e, half_log_2pi[1])}; /* the subtraction is exact */
  Dw big = dwsub(e, dwadd(e, t, dwadd(e, c, corr)), dwlog(e, p));
  big = dwsel(e, ovf, dw1(e, kf(e, INFINITY)), big);
  Dw r1 = TAYLOR(e, dw1(e, ir_fsub(e, a, kf(e, 1.0))), lg1);
  Dw r2 = TAYLOR(e, dw1(e, ir_fsub(e, a, kf(e, 2.0))), lg2);
  return dwsel(e, near(e, a, 1.0, 0.25), r1, dwsel(e, near(e, a, 2.0, 0.25), r2, big));
}

/* table[idx] in every lane: a private constant array of the module (made
 * once per name), read by a gather; idx must be in range in every lane. */
static LLVMValueRef table_at(const Em *e, const char *name, const double *vals, int n, LLVMValueRef idx) {
  LLVMTypeRef dt = LLVMDoubleTypeInContext(LLVMGetTypeContext(e->fty));
  LLVMValueRef g = LLVMGetNamedGlobal(e->mod, name);
  if (!g) {
    LLVMValueRef *c = tex_calloc((size_t)n, sizeof *c);
    for (int i = 0; i < n; i++) c[i] = LLVMConstReal(dt, vals[i]);
    g = LLVMAddGlobal(e->mod, LLVMArrayType2(dt, (uint64_t)n), name);
    LLVMSetInitializer(g, LLVMConstArray2(dt, c, (uint64_t)n));
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    tex_free(c);
  }
  LLVMValueRef p = LLVMBuildGEP2(e->b, dt, g, &idx, 1, "");
  if (LLVMGetTypeKind(e->fty) != LLVMVectorTypeKind) return LLVMBuildLoad2(e->b, dt, p, "");
  unsigned lanes = LLVMGetVectorSize(e->fty), id = LLVMLookupIntrinsicID("llvm.masked.gather", 18);
  LLVMTypeRef i1 = LLVMInt1TypeInContext(LLVMGetTypeContext(dt)), over[2] = {e->fty, LLVMTypeOf(p)};
  LLVMValueRef args[4] = {p, LLVMConstInt(LLVMInt32TypeInContext(LLVMGetTypeContext(dt)), 8, 0),
                          LLVMConstAllOnes(LLVMVectorType(i1, lanes)), LLVMGetPoison(e->fty)};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, over, 2);
  return LLVMBuildCall2(e->b, LLVMIntrinsicGetType(LLVMGetTypeContext(dt), id, over, 2), fn, args, 4, "");
}
#define TABLE_AT(e, tab, idx) table_at(e, "texc." #tab, tab, NCOEF(tab), idx)

/* lgamma(x) next to its zeros in (-16, -2), where the reflection cancels:
 * the Taylor series at the nearer of the two zeros of x's unit interval,
 * t = x - z a double-word from z in three words (x - z.hi is exact there).  *in: the lanes
 * within that zero's window (tests/unit/gamma_coefs.py). */
static Dw lgamma_near_zero(const Em *e, LLVMValueRef x, LLVMValueRef *in) {
  LLVMValueRef inside = bool_and(e, lt(e, x, -2.0), fcmp(e, LLVMRealOGT, x, kf(e, -16.0)));
  LLVMValueRef n = sel(e, inside, ir_floor(e, ir_fneg(e, x)), kf(e, 2.0)); /* x in (-n-1, -n) */
  LLVMValueRef left = to_int(e, ir_fmul(e, ir_fsub(e, n, kf(e, 2.0)), kf(e, 2.0))), right = iadd(e, left, ki(e, 1));
  LLVMValueRef za = TABLE_AT(e, lgneg_x0_hi, left), zb = TABLE_AT(e, lgneg_x0_hi, right);
  LLVMValueRef use_a = fcmp(e, LLVMRealOLE, ir_fabs(e, ir_fsub(e, x, za)), ir_fabs(e, ir_fsub(e, x, zb)));
  LLVMValueRef i = sel(e, use_a, left, right);
  Dw t = two_sum(e, ir_fsub(e, x, sel(e, use_a, za, zb)), ir_fneg(e, TABLE_AT(e, lgneg_x0_lo, i)));
  t = fast_two_sum(e, t.hi, ir_fsub(e, t.lo, TABLE_AT(e, lgneg_x0_lo2, i)));
  *in = bool_and(e, inside, fcmp(e, LLVMRealOLE, ir_fabs(e, t.hi), TABLE_AT(e, lgneg_w, i)));
  LLVMValueRef hi[LGNEG_TERMS], lo[4];
  for (int k = 0; k < LGNEG_TERMS; k++) {
    LLVMValueRef ik = iadd(e, i, ki(e, (long long)k * LGNEG_ZEROS));
    hi[k] = TABLE_AT(e, lgneg_c_hi, ik);
    if (k < 4) lo[k] = TABLE_AT(e, lgneg_c_lo, ik);
  }
  return cg_vm_dw_mul(e, t, cg_vm_horner_dwv(e, t, hi, lo, LGNEG_TERMS, 4));
}

/* lgamma(x) = log|Gamma(x)|.  +inf at the poles (0, -0, negative integers)
 * and at +-inf; NaN gives NaN; |x| < 2^-60 gives -log|x| (the next term,
 * -euler x, is below 2^-66 of it). */
static LLVMValueRef lgamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x), near_zero;
  Dw pos = lgamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  Dw as = cg_vm_dw_mul(e, dw1(e, a), p.s);
  as = dwsel(e, lt(e, as.hi, 0.0), dwneg(e, as), as);
  Dw neg = dwsub(e, dwsub(e, dwk(e, log_pi), dwlog(e, as)), pos);
  Dw series = lgamma_near_zero(e, x, &near_zero);
  neg = dwsel(e, near_zero, series, neg);
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  r = sel(e, lt(e, a, 0x1p-60), ir_fneg(e, cg_vm_log_dw(e, a).hi), r);
  r = sel(e, bool_or(e, at_pole(e, x), eq(e, a, INFINITY)), kf(e, INFINITY), r);
  return sel(e, is_nan(e, x), x, r);
}

/* ---- digamma ------------------------------------------------------------ */

/* psi(a) for a > 0 finite, as a double-word. */
static Dw digamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw sum = dw1(e, kf(e, 0.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) sum = dwsel(e, s.active[k], dwadd(e, sum, dwrecip(e, s.ak[k])), sum);
  /* log y - 1/(2y) - sum B2k / (2k y^2k) */
  Dw iy = dwrecip(e, s.y);
  Dw z = cg_vm_dw_mul(e, iy, iy);
  Dw corr = series_tail(e, z, z.hi, psi_asym, NCOEF(psi_asym));
  Dw big = dwsub(e, dwsub(e, dwlog(e, s.y), dwadd(e, dwscale(e, iy, 0.5), corr)), sum);
  Dw t = two_sum(e, ir_fsub(e, a, kf(e, psi_x0[0])), kf(e, -psi_x0[1])); /* a - x0_hi is exact */
  return dwsel(e, near(e, a, psi_x0[0], 0.25), TAYLOR(e, t, psi0), big);
}

/* digamma(x) = Gamma'(x)/Gamma(x).  NaN at the poles (0, -0, negative
 * integers) and at -inf, +inf at +inf; |x| < 2^-60 gives -1/x - euler. */
static LLVMValueRef digamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = digamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  /* psi(-a) = psi(a) + 1/a + pi cot(pi a) */
  Dw neg = dwadd(e, dwadd(e, pos, dwrecip(e, dw1(e, a))), cg_vm_dw_mul(e, dwk(e, pi), cg_vm_dw_div_dw(e, p.c, p.s)));
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  r = sel(e, lt(e, a, 0x1p-60), ir_fsub(e, ir_fdiv(e, kf(e, -1.0), x), kf(e, euler[0])), r);
  r = sel(e, eq(e, x, INFINITY), x, r);
  return sel(e, bool_or(e, at_pole(e, x), eq(e, x, -INFINITY)), kf(e, NAN), sel(e, is_nan(e, x), x, r));
}

/* ---- trigamma ----------------------------------------------------------- */

/* psi1(a) for a > 0 finite, as a double-word. */
static Dw trigamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw sum = dw1(e, kf(e, 0.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) sum = dwsel(e, s.active[k], dwadd(e, sum, dwrecip(e, cg_vm_dw_mul(e, s.ak[k], s.ak[k]))), sum);
  /* 1/y + 1/(2y^2) + sum B2k / y^(2k+1) */
  Dw iy = dwrecip(e, s.y);
  Dw iy2 = cg_vm_dw_mul(e, iy, iy);
  LLVMValueRef corr = ir_fmul(e, ir_fmul(e, iy2.hi, iy.hi), horner(e, iy2.hi, psi1_asym, NCOEF(psi1_asym)));
  return dwadd(e, dwadd(e, iy, dwadd(e, dwscale(e, iy2, 0.5), dw1(e, corr))), sum);
}

/* trigamma(x) = digamma'(x).  +inf at the poles (0, -0, negative
 * integers), +0 at +inf, NaN at -inf and NaN; |x| < 2^-30 gives
 * 1/x^2 + pi^2/6. */
static LLVMValueRef trigamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = trigamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  /* psi1(-a) = pi^2 / sin^2(pi a) - psi1(a) + 1/a^2 */
  Dw ia = dwrecip(e, dw1(e, a));
  Dw ia2 = cg_vm_dw_mul(e, ia, ia);
  Dw csc2 = cg_vm_dw_mul(e, dwk(e, pi2), dwrecip(e, cg_vm_dw_mul(e, p.s, p.s)));
  Dw neg = dwadd(e, dwsub(e, csc2, pos), ia2);
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  Dw tiny = {ia2.hi, ir_fadd(e, ia2.lo, kf(e, 0x1.a51a6625307d3p+0))};
  r = sel(e, lt(e, a, 0x1p-30), dwround(e, tiny), r);
  r = sel(e, eq(e, x, INFINITY), kf(e, 0.0), r);
  r = sel(e, at_pole(e, x), kf(e, INFINITY), r);
  return sel(e, bool_or(e, is_nan(e, x), eq(e, x, -INFINITY)), kf(e, NAN), r);
}

/* ---- tetragamma ---------------------------------------------------------- */

static Dw dwcube(const Em *e, Dw a) { return cg_vm_dw_mul(e, cg_vm_dw_mul(e, a, a), a); }

/* psi2(a) for a > 0 finite, as a double-word (negative).  One recurrence
 * step more than the others (y + 1 >= 9), where the series reaches 2^-64. */
static Dw tetragamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw sum = dwcube(e, dwrecip(e, s.y)); /* not 1/y^3: y^3 overflows */
  for (int k = 0; k < GAMMA_SHIFT; k++) sum = dwsel(e, s.active[k], dwadd(e, sum, dwrecip(e, dwcube(e, s.ak[k]))), sum);
  /* -1/y^2 - 1/y^3 - sum (2k+1) B2k / y^(2k+2), at y + 1; its leading 1/(2 y^4) in double-word */
  Dw iy = dwrecip(e, dwadd(e, s.y, dw1(e, kf(e, 1.0))));
  Dw iy2 = cg_vm_dw_mul(e, iy, iy);
  LLVMValueRef z = iy2.hi;
  LLVMValueRef rest = ir_fmul(e, ir_fmul(e, z, ir_fmul(e, z, z)), horner(e, z, psi2_asym + 1, NCOEF(psi2_asym) - 1));
  Dw corr = dwadd(e, dwscale(e, cg_vm_dw_mul(e, iy2, iy2), 0.5), dw1(e, rest));
  Dw asym = dwneg(e, dwadd(e, iy2, dwadd(e, cg_vm_dw_mul(e, iy2, iy), corr)));
  return dwsub(e, asym, dwscale(e, sum, 2.0));
}

/* tetragamma(x) = trigamma'(x) = polygamma(2, x).  NaN at the poles (0, -0,
 * negative integers: the one-sided limits are -inf and +inf) and at -inf,
 * -0 at +inf; |x| < 2^-30 gives -2/x^3 (the next term, -2 zeta(3), is
 * below 2^-88 of it).  x = -a < 0:
 * psi2(x) = psi2(a) + 2/a^3 + 2 pi^3 cot(pi a) / sin^2(pi a). */
static LLVMValueRef tetragamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = tetragamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  Dw refl = cg_vm_dw_mul(e, dwk(e, two_pi3), cg_vm_dw_mul(e, cg_vm_dw_div_dw(e, p.c, p.s), dwrecip(e, cg_vm_dw_mul(e, p.s, p.s))));
  Dw neg = dwadd(e, dwadd(e, pos, dwscale(e, dwrecip(e, dwcube(e, dw1(e, a))), 2.0)), refl);
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  Dw tiny = dwscale(e, dwcube(e, dwrecip(e, dw1(e, x))), -2.0);
  r = sel(e, lt(e, a, 0x1p-30), dwround(e, tiny), r);
  /* a > 2^484: -1/a^2 (the rest is below 2^-484 of it), from 1/(a 2^-600)
   * squared, so that its double-word does not fall into the subnormals */
  Dw inv = dwrecip(e, dw1(e, ir_fmul(e, a, kf(e, 0x1p-600))));
  LLVMValueRef big = ir_fmul(e, ir_fmul(e, dwround(e, cg_vm_dw_mul(e, inv, inv)), kf(e, -0x1p-600)), kf(e, 0x1p-600));
  r = sel(e, bool_and(e, fcmp(e, LLVMRealOGT, x, kf(e, 0x1p484)), lt(e, x, INFINITY)), big, r);
  r = sel(e, eq(e, x, INFINITY), kf(e, -0.0), r);
  return sel(e, bool_or(e, bool_or(e, at_pole(e, x), eq(e, x, -INFINITY)), is_nan(e, x)), kf(e, NAN), r);
}

/* ---- entry points (math_fns rows) --------------------------------------- */

/* fn on double x; float x widened (exact), computed in double, narrowed once. */
static LLVMValueRef via_double(const Em *e, LLVMValueRef x, LLVMValueRef (*fn)(const Em *, LLVMValueRef)) {
  if (e->f64) return fn(e, x);
  Em d = cg_vm_em_double(e);
  return LLVMBuildFPTrunc(e->b, fn(&d, LLVMBuildFPExt(e->b, x, d.fty, "")), e->fty, "");
}

LLVMValueRef cg_vm_lgamma(const Em *e, LLVMValueRef x) { return via_double(e, x, lgamma_f64); }
LLVMValueRef cg_vm_digamma(const Em *e, LLVMValueRef x) { return via_double(e, x, digamma_f64); }
LLVMValueRef cg_vm_trigamma(const Em *e, LLVMValueRef x) { return via_double(e, x, trigamma_f64); }
LLVMValueRef cg_vm_tetragamma(const Em *e, LLVMValueRef x) { return via_double(e, x, tetragamma_f64); }
