/* Must NOT compile: isolate may not see the suites module (DESIGN.md). The
 * test "module_graph_enforced" builds this with th_isolate's include paths
 * and expects the build to fail. */
#include "isolate.h"
#include "suite.h"

int graph_violation(void);
int graph_violation(void)
{
        return 0;
}
