// The static probe program (tests/sandbox/probe.c), embedded in the test binaries so that they are
// self-contained wherever they run (as another user, in a container).
#define OCIB_STR2(x) #x
#define OCIB_STR(x) OCIB_STR2(x)
__asm__(".section .rodata\n"
        ".global ocib_sandbox_probe_start\n"
        "ocib_sandbox_probe_start:\n"
        ".incbin \"" OCIB_STR(OCIB_PROBE_PATH) "\"\n"
        ".global ocib_sandbox_probe_end\n"
        "ocib_sandbox_probe_end:\n"
        ".previous\n");
