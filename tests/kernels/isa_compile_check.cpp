// Compile-only check: instantiates every kernel so the AVX-512 (and NEON) register layers
// are compiled even where they cannot run. Not a *_test.cpp: the test glob skips it.
//   g++ -std=c++20 -O2 -mavx512f -mavx2 -mfma -Iinclude -c tests/kernels/isa_compile_check.cpp -o /dev/null
//   g++ -std=c++20 -O2 -mavx512f -Iinclude -c tests/kernels/isa_compile_check.cpp -o /dev/null
// (GCC 12 prints -Wmaybe-uninitialized from its own avx512fintrin.h, GCC bug 105593.)
#include <ttscale/kernels/all.hpp>
#include <vector>
#include <random>
namespace k = ttscale::kernels;
template <class T> void all(){ std::vector<T> x(100,T(1)), o(100); std::vector<std::int32_t> idx(10);
 (void)k::max(x); (void)k::logsumexp(x); (void)k::log_mean_exp(x); k::log_normalize(x,o); k::softmax(x,o); k::exp(x,o); k::log(x,o);
 (void)k::effective_sample_size(x); (void)k::weight_entropy(x); (void)k::argmax(x); k::top_k(x, idx);
 std::mt19937 g; k::resample_workspace ws; k::resample(k::systematic,x,idx,g,ws); k::resample(k::multinomial,x,idx,g,ws);k::resample(k::stratified,x,idx,g,ws);k::resample(k::residual,x,idx,g,ws);k::resample(k::ssp,x,idx,g,ws);}
int main() { all<float>(); all<double>(); std::vector<std::uint64_t> kk(3); k::tally_workspace w; (void)k::tally(kk,w); }
