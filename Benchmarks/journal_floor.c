/* What libsystemd itself costs per journal entry (CPU seconds), the floor under any reader:
 *   gcc -O2 Benchmarks/journal_floor.c -o /tmp/journal_floor -lsystemd && /tmp/journal_floor DIR
 * (DIR: the journal.sh directory, /tmp/tailcast-bench-journal by default). */
#include <systemd/sd-journal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  sd_journal*j; sd_journal_open_directory(&j,argc>1?argv[1]:"/tmp/tailcast-bench-journal",0);
  double t0=now(); sd_journal_seek_tail(j); int r=sd_journal_previous_skip(j,1000000); double t1=now();
  printf("previous_skip %d: %.3f s\n",r,t1-t0);
  sd_journal_seek_head(j); long n=0; size_t tot=0; t0=now();
  while(sd_journal_next(j)>0){const void*d;size_t l; SD_JOURNAL_FOREACH_DATA(j,d,l) tot+=l; n++;}
  t1=now(); printf("enumerate all %ld: %.3f s\n",n,t1-t0);
  sd_journal_seek_head(j); n=0; t0=now();
  while(sd_journal_next(j)>0){const void*d;size_t l; sd_journal_get_data(j,"MESSAGE",&d,&l); tot+=l; n++;}
  t1=now(); printf("get MESSAGE %ld: %.3f s\n",n,t1-t0);
  sd_journal_seek_head(j); n=0; t0=now();
  while(sd_journal_next(j)>0){char*c; sd_journal_get_cursor(j,&c); tot+=strlen(c); free(c); n++;}
  t1=now(); printf("cursor %ld: %.3f s\n",n,t1-t0);
  sd_journal_seek_head(j); n=0; t0=now();
  while(sd_journal_next(j)>0){n++;}
  t1=now(); printf("next only %ld: %.3f s (%zu)\n",n,t1-t0,tot);
}
