// Output that redraws itself on a terminal and stays readable in a log: one live status line
// (`get`) or a block of lines (`watch`). On anything but a terminal (a pipe, a file,
// TERM=dumb) every draw is printed as plain lines and nothing is redrawn.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace lanspread::app::cli {

// True when `out` is a terminal that understands carriage return and ANSI cursor moves.
bool redrawable_terminal(std::FILE* out);
// The terminal's width in columns, or 80 when it cannot be asked.
std::size_t terminal_columns(std::FILE* out);

class LiveLine {
 public:
  explicit LiveLine(std::FILE* out);
  bool redraws() const { return redraw_; }
  std::size_t width() const;
  // Terminal: replaces the line in place. Elsewhere: prints `text` as a line.
  void draw(const std::string& text);
  // Ends a drawn line so what follows starts on a fresh one.
  void close();
  // Prints `text` as a line of its own, after the live line.
  void print(const std::string& text);

 private:
  std::FILE* out_;
  bool redraw_;
  bool open_ = false;
};

class LiveBlock {
 public:
  explicit LiveBlock(std::FILE* out);
  bool redraws() const { return redraw_; }
  std::size_t width() const;
  // Terminal: replaces the lines drawn before. Elsewhere: prints the lines.
  void draw(const std::vector<std::string>& lines);
  // A line that stays: printed where the block was (the block must be drawn again after).
  void note(const std::string& line);

 private:
  std::FILE* out_;
  bool redraw_;
  std::size_t drawn_ = 0;
};

}  // namespace lanspread::app::cli
