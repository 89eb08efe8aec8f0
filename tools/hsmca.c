#include <stdio.h>
int main(void) { puts("hsmca"); return 0; }
