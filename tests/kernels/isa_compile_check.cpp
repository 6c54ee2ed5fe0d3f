// Compile-only check: instantiates every kernel in a build whose baseline is AVX-512
// (-mavx512f -mavx2 -mfma: the levels then need no target attribute). The default build
// compiles every level through target attributes and runs them in the *_avx2 / *_avx512
// tests. Not a *_test.cpp: the test glob skips it.
//   g++ -std=c++20 -O2 -mavx512f -mavx2 -mfma -Iinclude -c tests/kernels/isa_compile_check.cpp -o /dev/null
#include <ttscale/kernels/all.hpp>
#include <vector>
#include <random>
namespace k = ttscale::kernels;
template <class T> void all(){ std::vector<T> x(100,T(1)), o(100); std::vector<std::int32_t> idx(10);
 (void)k::max(x); (void)k::logsumexp(x); (void)k::log_mean_exp(x); k::log_normalize(x,o); k::softmax(x,o); k::exp(x,o); k::log(x,o);
 (void)k::effective_sample_size(x); (void)k::weight_entropy(x); (void)k::argmax(x); k::top_k(x, idx);
 std::mt19937 g; k::resample_workspace ws; k::resample(k::systematic,x,idx,g,ws); k::resample(k::multinomial,x,idx,g,ws);k::resample(k::stratified,x,idx,g,ws);k::resample(k::residual,x,idx,g,ws);k::resample(k::ssp,x,idx,g,ws);}
int main() { all<float>(); all<double>(); std::vector<std::uint64_t> kk(3); k::tally_workspace w; (void)k::tally(kk,w); }
