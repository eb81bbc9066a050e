/* runner: the program's entry point; everything else is in the runner
 * library so tests link the same code. */
#include "runner.h"

int main(int argc, char **argv)
{
        return runner_main(argc, argv);
}
