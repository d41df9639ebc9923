// The channel, select and timer workloads of benches/channel.rs, benches/select.rs and
// benches/time.rs, in Go, so that goro can be compared with Go doing the same work
// (GOMAXPROCS=2).
//
//	cd benches/go && GOMAXPROCS=2 go run . > ../../target/go-bench.json
//
// It prints one JSON object: criterion-style group name -> mean nanoseconds per iteration.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

const n = 200_000

func seq(capacity int) {
	ch := make(chan int, capacity)
	for i := 0; i < n; i++ {
		ch <- i
	}
	for i := 0; i < n; i++ {
		<-ch
	}
}

func spsc(capacity int) {
	ch := make(chan int, capacity)
	done := make(chan bool)
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		done <- true
	}()
	for i := 0; i < n; i++ {
		<-ch
	}
	<-done
}

func mpsc(capacity int) {
	ch := make(chan int, capacity)
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func() {
			for i := 0; i < n/4; i++ {
				ch <- i
			}
			wg.Done()
		}()
	}
	for i := 0; i < n; i++ {
		<-ch
	}
	wg.Wait()
}

func mpmc(capacity int) {
	ch := make(chan int, capacity)
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(2)
		go func() {
			for i := 0; i < n/4; i++ {
				ch <- i
			}
			wg.Done()
		}()
		go func() {
			for i := 0; i < n/4; i++ {
				<-ch
			}
			wg.Done()
		}()
	}
	wg.Wait()
}

func selectRx() {
	var chans [4]chan int
	for c := range chans {
		chans[c] = make(chan int, 16)
		go func(ch chan int) {
			for i := 0; i < n/4; i++ {
				ch <- i
			}
		}(chans[c])
	}
	for got := 0; got < n; got++ {
		select {
		case <-chans[0]:
		case <-chans[1]:
		case <-chans[2]:
		case <-chans[3]:
		}
	}
}

func selectBoth() {
	var chans [4]chan int
	for c := range chans {
		chans[c] = make(chan int, 16)
	}
	var wg sync.WaitGroup
	for t := 0; t < 4; t++ {
		wg.Add(1)
		go func(tx, rx chan int) {
			sent, got := 0, 0
			for sent < n/4 || got < n/4 {
				if sent < n/4 && got < n/4 {
					select {
					case tx <- sent:
						sent++
					case <-rx:
						got++
					}
				} else if sent < n/4 {
					tx <- sent
					sent++
				} else {
					<-rx
					got++
				}
			}
			wg.Done()
		}(chans[t], chans[(t+1)%4])
	}
	wg.Wait()
}

const timerTasks = 100_000

// timerChurn: timerTasks goroutines each start a 1 s timer around work that is ready at
// once and stop it (benches/time.rs `timer_churn`); with yield, the work yields once
// first, as in `timer_churn_registered`.
func timerChurn(yield bool) {
	var wg sync.WaitGroup
	wg.Add(timerTasks)
	for i := 0; i < timerTasks; i++ {
		go func() {
			t := time.NewTimer(time.Second)
			if yield {
				runtime.Gosched()
			}
			t.Stop()
			wg.Done()
		}()
	}
	wg.Wait()
}

// sleepMany: timerTasks goroutines each sleep 10 ms concurrently (`sleep_many`).
func sleepMany() {
	var wg sync.WaitGroup
	wg.Add(timerTasks)
	for i := 0; i < timerTasks; i++ {
		go func() {
			time.Sleep(10 * time.Millisecond)
			wg.Done()
		}()
	}
	wg.Wait()
}

// measure runs f until at least two seconds have passed (and at least 10 times) after a
// warm-up, and returns the mean time per run.
func measure(f func()) float64 {
	warm := time.Now()
	for time.Since(warm) < 500*time.Millisecond {
		f()
	}
	runs := 0
	start := time.Now()
	for runs < 10 || time.Since(start) < 2*time.Second {
		f()
		runs++
	}
	return float64(time.Since(start).Nanoseconds()) / float64(runs)
}

func main() {
	results := map[string]float64{}
	flavors := []struct {
		name     string
		capacity int
	}{{"bounded1", 1}, {"bounded100", 100}, {"rendezvous", 0}}
	results["seq_boundedN"] = measure(func() { seq(n) })
	for _, fl := range flavors {
		c := fl.capacity
		results["spsc_"+fl.name] = measure(func() { spsc(c) })
		results["mpsc_"+fl.name] = measure(func() { mpsc(c) })
		results["mpmc_"+fl.name] = measure(func() { mpmc(c) })
	}
	results["select_rx"] = measure(selectRx)
	results["select_both"] = measure(selectBoth)
	results["timer_churn (100000)"] = measure(func() { timerChurn(false) })
	results["timer_churn_registered (100000)"] = measure(func() { timerChurn(true) })
	results["sleep_many (100000)"] = measure(sleepMany)
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "%-20s %10.3f ms\n", k, results[k]/1e6)
	}
	out, _ := json.MarshalIndent(results, "", "  ")
	fmt.Println(string(out))
}
