#pragma once
// A one-line progress bar on stderr, redrawn in place; silent when disabled or not a terminal
// unless forced.
#include <chrono>
#include <cstddef>
#include <string>

namespace mixq {

class Progress {
 public:
  Progress(std::string label, size_t total, bool enabled = true);
  ~Progress();
  void advance(size_t steps = 1, const std::string& status = "");
  // Steps done without their work (a resumed run's finished layers): they count as done but not in
  // the rate the remaining time is projected from.
  void skip(size_t steps = 1, const std::string& status = "");
  void finish();
  // Prints `line` on stdout (always), above the bar.
  void note(const std::string& line);

 private:
  void draw(const std::string& status);
  std::string eta() const;
  std::string label_;
  size_t total_, done_ = 0, worked_ = 0;
  double work_seconds_ = 0;  // time spent on the worked steps
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_, last_step_;
};

}  // namespace mixq
