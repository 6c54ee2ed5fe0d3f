#include <ttscale/analysis/progress.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace ttscale;

namespace {

// A temporary file standing in for stderr: not a terminal, and readable back.
class captured_file {
 public:
  captured_file() : f_(std::tmpfile()) { REQUIRE(f_ != nullptr); }
  ~captured_file() { std::fclose(f_); }
  captured_file(const captured_file&) = delete;
  captured_file& operator=(const captured_file&) = delete;

  std::FILE* get() const { return f_; }
  std::string text() const {
    std::fflush(f_);
    std::rewind(f_);
    std::string out;
    char buf[4096];
    for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, f_)) > 0;) out.append(buf, got);
    std::fseek(f_, 0, SEEK_END);
    return out;
  }

 private:
  std::FILE* f_;
};

std::size_t count(const std::string& s, char c) {
  std::size_t n = 0;
  for (char x : s) n += x == c;
  return n;
}

}  // namespace

TEST_CASE("duration_text rounds down into the largest useful units", "[analysis][progress]") {
  CHECK(analysis::duration_text(0) == "0.0s");
  CHECK(analysis::duration_text(4.26) == "4.2s");
  CHECK(analysis::duration_text(9.99) == "9.9s");
  CHECK(analysis::duration_text(10) == "10s");
  CHECK(analysis::duration_text(59.9) == "59s");
  CHECK(analysis::duration_text(60) == "1m00s");
  CHECK(analysis::duration_text(185) == "3m05s");
  CHECK(analysis::duration_text(3599.9) == "59m59s");
  CHECK(analysis::duration_text(3600) == "1h00m");
  CHECK(analysis::duration_text(7500) == "2h05m");
  CHECK(analysis::duration_text(86399) == "23h59m");
  CHECK(analysis::duration_text(90000) == "1d01h");
  CHECK(analysis::duration_text(-1) == "?");
  CHECK(analysis::duration_text(std::numeric_limits<double>::quiet_NaN()) == "?");
  CHECK(analysis::duration_text(std::numeric_limits<double>::infinity()) == "?");
}

TEST_CASE("seconds_left_estimate applies the rate so far to the work left", "[analysis][progress]") {
  CHECK(analysis::seconds_left_estimate(10, 5, 15) == 30.0);  // 2 s an item, 15 items
  CHECK(analysis::seconds_left_estimate(3, 2, 18) == 27.0);
  CHECK(analysis::seconds_left_estimate(7, 3, 0) == 0.0);     // nothing left: no wait
  CHECK_FALSE(analysis::seconds_left_estimate(5, 0, 10));     // nothing timed: no rate
  CHECK_FALSE(analysis::seconds_left_estimate(-1, 1, 10));
  CHECK_FALSE(analysis::seconds_left_estimate(std::numeric_limits<double>::quiet_NaN(), 1, 10));
}

TEST_CASE("progress_bar prints a plain line at every tenth and a final line", "[analysis][progress]") {
  captured_file out;
  double now = 100;  // the clock's origin does not matter
  {
    analysis::progress_bar bar(20, "sweep", out.get(), false, [&] { return now; });
    CHECK(out.text().empty());  // plain mode prints nothing until a tenth is done
    for (int i = 1; i <= 20; ++i) {
      now = 100 + 1.5 * i;  // 1.5 s an item
      bar.advance();
    }
    now = 130.2;
    bar.finish();
    bar.finish();  // prints once
  }  // and the destructor prints nothing more
  CHECK(out.text() ==
        "sweep: 10% (2/20), 3.0s elapsed, about 27s left\n"
        "sweep: 20% (4/20), 6.0s elapsed, about 24s left\n"
        "sweep: 30% (6/20), 9.0s elapsed, about 21s left\n"
        "sweep: 40% (8/20), 12s elapsed, about 18s left\n"
        "sweep: 50% (10/20), 15s elapsed, about 15s left\n"
        "sweep: 60% (12/20), 18s elapsed, about 12s left\n"
        "sweep: 70% (14/20), 21s elapsed, about 9.0s left\n"
        "sweep: 80% (16/20), 24s elapsed, about 6.0s left\n"
        "sweep: 90% (18/20), 27s elapsed, about 3.0s left\n"
        "sweep: done, 20/20 in 30s\n");
}

TEST_CASE("progress_bar: a jump over several tenths prints one line", "[analysis][progress]") {
  captured_file out;
  double now = 0;
  analysis::progress_bar bar(100, "run", out.get(), false, [&] { return now; });
  now = 7;
  bar.advance(35);
  now = 8;
  bar.advance(1);  // still in the fourth tenth: no line
  CHECK(out.text() == "run: 35% (35/100), 7.0s elapsed, about 13s left\n");
  CHECK(bar.done() == 36);
}

TEST_CASE("progress_bar: items from an earlier run fill the bar but not the rate", "[analysis][progress]") {
  captured_file out;
  double now = 0;
  analysis::progress_bar bar(100, "sweep", out.get(), false, [&] { return now; });
  bar.skip(40);
  CHECK(out.text().empty());
  CHECK_FALSE(bar.seconds_left());  // no rate yet: 40 items in 0 s says nothing
  now = 20;
  bar.advance(10);  // 2 s an item, 50 left
  REQUIRE(bar.seconds_left());
  CHECK(*bar.seconds_left() == 100.0);
  CHECK(bar.elapsed() == 20.0);
  now = 21;
  bar.advance(50);
  bar.finish();
  CHECK(out.text() ==
        "sweep: 50% (50/100), 20s elapsed, about 1m40s left\n"
        "sweep: done, 100/100 (40 from an earlier run) in 21s\n");
}

TEST_CASE("progress_bar says where it stopped when finished early or destroyed", "[analysis][progress]") {
  captured_file out;
  double now = 0;
  {
    analysis::progress_bar bar(10, "sweep", out.get(), false, [&] { return now; });
    now = 12.5;
    bar.advance(3);
    now = 13;
  }  // e.g. an exception unwinding the sweep
  CHECK(out.text() ==
        "sweep: 30% (3/10), 12s elapsed, about 29s left\n"
        "sweep: stopped at 3/10 (30%) after 13s\n");
}

TEST_CASE("progress_bar on a terminal redraws one line at most 10 times a second", "[analysis][progress]") {
  captured_file out;
  double now = 0;
  {
    analysis::progress_bar bar(100, "sweep", out.get(), true, [&] { return now; });
    CHECK(bar.tty());
    CHECK(out.text() == "\rsweep [........................] 0% (0/100), 0.0s elapsed\x1b[K");
    now = 0.05;
    bar.advance(10);  // too soon after the first draw
    CHECK(count(out.text(), '\r') == 1);
    now = 2;
    bar.advance(40);
    CHECK_THAT(out.text(),
               Catch::EndsWith("\rsweep [############............] 50% (50/100), 2.0s elapsed, about 2.0s left\x1b[K"));
    CHECK(count(out.text(), '\r') == 2);
    // 49 more items over one second: about 10 redraws, not 49.
    for (int i = 1; i <= 49; ++i) {
      now = 2 + i / 49.0;
      bar.advance();
    }
    const std::size_t draws = count(out.text(), '\r') - 2;
    CHECK(draws >= 9);
    CHECK(draws <= 11);
    now = 4;
    bar.advance();  // the last item always draws: the bar reaches the end
    CHECK_THAT(out.text(), Catch::EndsWith("\rsweep [########################] 100% (100/100), 4.0s elapsed\x1b[K"));
    bar.finish();
  }
  CHECK_THAT(out.text(), Catch::EndsWith("\rsweep [########################] done, 100/100 in 4.0s\x1b[K\n"));
  CHECK(count(out.text(), '\n') == 1);  // one line, redrawn
}

TEST_CASE("progress_bar counts exactly and prints in order from many threads", "[analysis][progress]") {
  captured_file out;
  analysis::progress_bar bar(1000, "mt", out.get(), false, [] { return 0.0; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) bar.advance();
    });
  for (std::thread& t : threads) t.join();
  bar.finish();
  CHECK(bar.done() == 1000);
  std::string expected;
  for (int tenth = 1; tenth <= 9; ++tenth)
    expected += "mt: " + std::to_string(10 * tenth) + "% (" + std::to_string(100 * tenth) +
                "/1000), 0.0s elapsed, about 0.0s left\n";
  CHECK(out.text() == expected + "mt: done, 1000/1000 in 0.0s\n");
}

TEST_CASE("progress_bar edge cases and errors", "[analysis][progress][errors]") {
  captured_file out;
  SECTION("a file is not a terminal") {
    analysis::progress_bar bar(5, "x", out.get());
    CHECK_FALSE(bar.tty());
    bar.finish();
    CHECK_THAT(out.text(), Catch::StartsWith("x: stopped at 0/5 (0%) after "));
  }
  SECTION("nothing to do") {
    analysis::progress_bar bar(0, "empty", out.get(), false, [] { return 0.0; });
    bar.finish();
    CHECK(out.text() == "empty: done, 0/0 in 0.0s\n");
  }
  SECTION("more than the total is refused and not counted") {
    analysis::progress_bar bar(10, "x", out.get(), false, [] { return 0.0; });
    bar.advance(8);
    CHECK_THROWS_WITH(bar.advance(3), "progress_bar::advance: 3 more would make 8 + 3 of 10 items done");
    CHECK_THROWS_AS(bar.skip(5), invalid_argument);
    CHECK(bar.done() == 8);
    bar.advance(2);
    CHECK(bar.done() == 10);
  }
  SECTION("bad arguments") {
    CHECK_THROWS_WITH(analysis::progress_bar(1, "x", nullptr), Catch::Contains("progress_bar: out is a null FILE*"));
    CHECK_THROWS_AS(analysis::progress_bar(1, "x", out.get(), false, {}), invalid_argument);
  }
}
