#include "app/cli_terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace lanspread::app::cli {

bool redrawable_terminal(std::FILE* out) {
  if (::isatty(::fileno(out)) != 1) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

std::size_t terminal_columns(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

LiveLine::LiveLine(std::FILE* out) : out_(out), redraw_(redrawable_terminal(out)) {}

std::size_t LiveLine::width() const {
  // One column spare: writing the last column makes some terminals wrap.
  return redraw_ ? terminal_columns(out_) - 1 : 1000;
}

void LiveLine::draw(const std::string& text) {
  if (redraw_) {
    std::fputs("\r", out_);
    std::fputs(text.c_str(), out_);
    std::fputs("\x1b[K", out_);  // erase what a longer previous line left
    open_ = true;
  } else {
    std::fputs(text.c_str(), out_);
    std::fputc('\n', out_);
  }
  std::fflush(out_);
}

void LiveLine::close() {
  if (open_) std::fputc('\n', out_);
  open_ = false;
  std::fflush(out_);
}

void LiveLine::print(const std::string& text) {
  close();
  std::fputs(text.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

LiveBlock::LiveBlock(std::FILE* out) : out_(out), redraw_(redrawable_terminal(out)) {}

std::size_t LiveBlock::width() const {
  return redraw_ ? terminal_columns(out_) - 1 : 1000;
}

void LiveBlock::draw(const std::vector<std::string>& lines) {
  std::string frame;
  if (redraw_ && drawn_ > 0) {
    frame += "\x1b[" + std::to_string(drawn_) + "F";  // to the start of the first drawn line
  }
  for (const auto& l : lines) {
    frame += l;
    if (redraw_) frame += "\x1b[K";
    frame += '\n';
  }
  if (redraw_) frame += "\x1b[J";  // erase lines a taller previous frame left below
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
  drawn_ = lines.size();
}

void LiveBlock::note(const std::string& line) {
  std::string frame;
  if (redraw_ && drawn_ > 0) frame += "\x1b[" + std::to_string(drawn_) + "F";
  frame += line;
  if (redraw_)
    frame += "\x1b[K\n\x1b[J";
  else
    frame += '\n';
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
  drawn_ = 0;
}

}  // namespace lanspread::app::cli
