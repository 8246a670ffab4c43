#include "mixq/core/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace mixq {

Progress::Progress(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(size_t steps, const std::string& status) {
  done_ += steps;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 10 times a second so a fast loop is not slowed by the terminal.
  if (done_ >= total_ || now - last_draw_ > std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(status);
  }
}

void Progress::draw(const std::string& status) {
  if (!enabled_ || total_ == 0) return;
  const int width = 30;
  const int filled = int(width * std::min(done_, total_) / total_);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "\r{} [{}{}] {}/{} {:.1f}s {}", label_, std::string(filled, '#'),
             std::string(width - filled, '.'), done_, total_, secs, status);
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
