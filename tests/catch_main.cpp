// Catch2's runner, compiled once and linked into every test executable.
// With TTSCALE_ISA set (CTest runs the kernels' tests once per instruction-set level,
// tests/CMakeLists.txt), a level this CPU lacks skips the whole executable with exit code
// 77 (CTest's SKIP_RETURN_CODE) and the reason, instead of failing; so does any level but
// its own in a static -march build (kernels/dispatch.hpp).
#define CATCH_CONFIG_RUNNER
#include <ttscale/errors.hpp>
#include <ttscale/kernels/dispatch.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char* argv[]) {
  if (const char* level = std::getenv("TTSCALE_ISA"); level != nullptr && *level != '\0') {
    try {
      const auto active = ttscale::kernels::isa_name(ttscale::kernels::active_isa());
      // A static -march build (dispatch.hpp) runs its one level and does not read TTSCALE_ISA.
      if (ttscale::kernels::isa_static && active != level) {
        std::printf("skipped: TTSCALE_ISA=%s, but this static -march build runs %s only\n", level,
                    std::string(active).c_str());
        return 77;
      }
      std::printf("kernels run at instruction set %s (TTSCALE_ISA)\n", std::string(active).c_str());
    } catch (const ttscale::invalid_argument& e) {
      // A level this CPU or build lacks skips; a name that is no level is a mistake.
      for (const auto known : {ttscale::kernels::isa::scalar, ttscale::kernels::isa::sse2, ttscale::kernels::isa::avx2,
                               ttscale::kernels::isa::avx512, ttscale::kernels::isa::neon})
        if (ttscale::kernels::isa_name(known) == level) {
          std::printf("skipped: %s\n", e.what());
          return 77;
        }
      std::printf("error: %s\n", e.what());
      return 2;
    }
  }
  return Catch::Session().run(argc, argv);
}
