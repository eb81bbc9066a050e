/* Must NOT compile: reports may not see the isolate module (DESIGN.md). */
#include "report.h"
#include "isolate.h"

int graph_violation2(void);
int graph_violation2(void)
{
        return 0;
}
