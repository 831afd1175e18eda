package imagefamily

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// inFlight counts concurrent requests passing through a transport.
type inFlight struct {
	base     http.RoundTripper
	now, max atomic.Int32
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	return c.base.RoundTrip(r)
}

// manyRegions adds n regions that each hold one image of web-base.
func manyRegions(srv *ecstest.Server, n int) []string {
	regions := make([]string, n)
	for i := range regions {
		regions[i] = fmt.Sprintf("zz-load-%d", i+1)
		srv.AddImage(regions[i], ecs.Image{ImageId: fmt.Sprintf("m-load-%d", i+1), ImageFamily: webBase, Status: "Available", CreationTime: "2024-01-01T00:00:00Z"})
	}
	return regions
}

func TestFanOutRespectsConcurrencyCap(t *testing.T) {
	srv := emulator(t)
	srv.Latency(100 * time.Millisecond)
	regions := manyRegions(srv, 32)
	for _, cap := range []int{4, 8, 32} {
		srv.ResetCounts()
		counter := &inFlight{base: srv.Transport()}
		r := request(srv)
		r.Transport = counter
		results, err := ResolveRegions(context.Background(), r, regions, cap)
		if err != nil {
			t.Fatal(err)
		}
		for i, res := range results {
			if res.Err != nil || res.Image.ImageID != fmt.Sprintf("m-load-%d", i+1) {
				t.Fatalf("cap %d, %s: %v %s", cap, res.Region, res.Err, res.Image.ImageID)
			}
		}
		// With 100ms per request the cap is reached; it is never exceeded.
		if m := int(counter.max.Load()); m > cap || m < 2 {
			t.Errorf("cap %d: %d requests in flight at most", cap, m)
		}
		if srv.Requests("DescribeImageFromFamily") != len(regions) {
			t.Errorf("cap %d: %d requests for %d regions", cap, srv.Requests("DescribeImageFromFamily"), len(regions))
		}
	}
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func settle() (goroutines int, heap uint64) {
	var ms runtime.MemStats
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// A sustained run of resolutions must not leave goroutines, connections
// (file descriptors) or memory behind.
func TestSustainedResolutionsDoNotLeak(t *testing.T) {
	total := 3000
	if testing.Short() {
		total = 300
	}
	srv := emulator(t)
	transport := srv.Transport()
	run := func(n int) {
		var wg sync.WaitGroup
		work := make(chan int)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					r := request(srv)
					r.Transport = transport
					if _, err := Resolve(context.Background(), r); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	run(total / 10) // warm up: connection pool, lazily built SDK state
	g0, h0 := settle()
	fd0 := openFDs()
	run(total)
	g1, h1 := settle()
	fd1 := openFDs()
	t.Logf("%d resolutions: goroutines %d -> %d, fds %d -> %d, heap %d KiB -> %d KiB", total, g0, g1, fd0, fd1, h0/1024, h1/1024)
	if g1 > g0+5 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd0 > 0 && fd1 > fd0+8 {
		t.Errorf("file descriptors grew from %d to %d", fd0, fd1)
	}
	if h1 > 2*h0+4<<20 {
		t.Errorf("heap grew from %d to %d bytes", h0, h1)
	}
}
