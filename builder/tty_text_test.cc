#include "builder/tty_text.h"

#include <gtest/gtest.h>

namespace ocibuild::builder {
namespace {

TEST(TtyText, DisplayWidths) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("h\xc3\xa9llo"), 5);              // é: one column
  EXPECT_EQ(DisplayWidth("\xe6\x97\xa5\xe6\x9c\xac"), 4);  // 日本: two each
  EXPECT_EQ(DisplayWidth("e\xcc\x81"), 1);                 // e + combining acute
  EXPECT_EQ(DisplayWidth("\xf0\x9f\x9a\x80"), 2);          // 🚀
  EXPECT_EQ(DisplayWidth("\xff"), 1);                      // invalid byte
}

TEST(TtyText, FitWidthNeverSplitsACharacter) {
  EXPECT_EQ(FitWidth("abcdef", 4), "abcd");
  EXPECT_EQ(FitWidth("ab\xe6\x97\xa5\xe6\x9c\xac", 5), "ab\xe6\x97\xa5");  // 日 fits, 本 not
  EXPECT_EQ(FitWidth("ab\xe6\x97\xa5", 3), "ab");
  EXPECT_EQ(FitWidth("e\xcc\x81x", 1), "e\xcc\x81");  // the mark stays with its letter
  EXPECT_EQ(FitWidth("abc", 0), "");
}

TEST(TtyText, PrintableIsWhatATerminalWouldShowWithoutControls) {
  EXPECT_EQ(Printable("\x1b[31mred\x1b[0m plain"), "red plain");
  EXPECT_EQ(Printable("\x1b]0;title\x07text"), "text");
  EXPECT_EQ(Printable(" 10%\r 55%\r100%"), "100%");
  EXPECT_EQ(Printable("done\r"), "done");
  EXPECT_EQ(Printable("a\tb"), "a       b");
  EXPECT_EQ(Printable("abcdefgh\tx"), "abcdefgh        x");
  EXPECT_EQ(Printable("bell\x07 back\x08 del\x7f"), "bell back del");
  EXPECT_EQ(Printable("bad\xff\xfe"), "bad??");
  EXPECT_EQ(Printable("\xe6\x97\xa5"), "\xe6\x97\xa5");
}

TEST(TtyText, WrapToWidth) {
  EXPECT_EQ(WrapToWidth("abcdefg", 3), (std::vector<std::string>{"abc", "def", "g"}));
  EXPECT_EQ(WrapToWidth("ab\ncd", 5), (std::vector<std::string>{"ab", "cd"}));
  EXPECT_EQ(WrapToWidth("", 5), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace ocibuild::builder
