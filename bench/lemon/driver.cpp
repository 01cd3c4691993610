// LEMON reference driver: reads a DIMACS min-cost-flow file and solves it
// with NetworkSimplex (block search pivoting, LEMON's default), printing
// the same lines as "plenty solve": c read_seconds, c solve_seconds, s COST.
#include <lemon/smart_graph.h>
#include <lemon/dimacs.h>
#include <lemon/network_simplex.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

using namespace lemon;
typedef std::chrono::steady_clock Clock;

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: lemon-solve FILE.min\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cannot open " << argv[1] << "\n";
    return 2;
  }
  SmartDigraph g;
  SmartDigraph::ArcMap<long long> lower(g), cap(g), cost(g);
  SmartDigraph::NodeMap<long long> supply(g);
  Clock::time_point t0 = Clock::now();
  readDimacsMin(in, g, lower, cap, cost, supply, 0);
  Clock::time_point t1 = Clock::now();
  NetworkSimplex<SmartDigraph, long long, long long> ns(g);
  ns.lowerMap(lower).upperMap(cap).costMap(cost).supplyMap(supply);
  NetworkSimplex<SmartDigraph, long long, long long>::ProblemType r = ns.run();
  Clock::time_point t2 = Clock::now();
  std::printf("c read_seconds %.6f\n", std::chrono::duration<double>(t1 - t0).count());
  std::printf("c solve_seconds %.6f\n", std::chrono::duration<double>(t2 - t1).count());
  if (r == NetworkSimplex<SmartDigraph, long long, long long>::OPTIMAL) {
    std::printf("s %lld\n", ns.totalCost<long long>());
    return 0;
  }
  std::printf("s infeasible\n");
  return 1;
}
