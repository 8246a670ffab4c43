#include "mixq/core/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace mixq {

Progress::Progress(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_), last_step_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(size_t steps, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  work_seconds_ += std::chrono::duration<double>(now - last_step_).count();
  last_step_ = now;
  worked_ += steps;
  done_ += steps;
  // Redraw at most 10 times a second so a fast loop is not slowed by the terminal.
  if (done_ >= total_ || now - last_draw_ > std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(status);
  }
}

void Progress::skip(size_t steps, const std::string& status) {
  last_step_ = std::chrono::steady_clock::now();
  done_ += steps;
  draw(status);
}

namespace {
// 42s, 3m07s, 2h05m.
std::string duration_label(double seconds) {
  const long s = std::lround(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}
}  // namespace

// Remaining time: the worked steps' mean time × the steps left.
std::string Progress::eta() const {
  if (worked_ == 0 || done_ >= total_) return "";
  return " ETA " + duration_label(work_seconds_ / double(worked_) * double(total_ - done_));
}

void Progress::draw(const std::string& status) {
  if (!enabled_ || total_ == 0) return;
  const int width = 30;
  const int filled = int(width * std::min(done_, total_) / total_);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "\r\033[K{} [{}{}] {}/{} {}{} {}", label_, std::string(filled, '#'),
             std::string(width - filled, '.'), done_, total_, duration_label(secs), eta(), status);
  std::fflush(stderr);
}

void Progress::note(const std::string& line) {
  if (enabled_ && !finished_) fmt::print(stderr, "\r\033[K");  // clear the bar; the next draw restores it
  fmt::print("{}\n", line);
  std::fflush(stdout);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_ && total_ > 0) fmt::print(stderr, "\n");
}

}  // namespace mixq
