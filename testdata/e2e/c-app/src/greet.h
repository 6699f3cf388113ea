#ifndef GREET_H
#define GREET_H
const char *greeting(void);
int count_words(int argc, char **argv);
#endif
