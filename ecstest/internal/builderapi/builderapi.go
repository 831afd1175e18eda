// Package builderapi holds the emulator's resources that an image build
// creates and deletes around the image itself: zones, VPCs, VSwitches,
// security groups, key pairs and instances, as the official alicloud-ecs
// Packer builder (packer-plugin-alicloud v1.1.2) drives them through the ECS
// API (2014-05-26; its VPC and VSwitch calls go to ECS too).
//
// It is pure state and rules: ecstest parses, authenticates and answers the
// request, checks RegionId, and hands the action here with the region; images
// stay in ecstest (the family lookup and the lifecycle read the same images),
// which this package reaches through Images.
//
// Status transitions (an instance Pending, then Stopped; Starting, then
// Running; a VPC Pending, then Available) take a configurable number of
// Describe polls that name the resource (SetPolls; 0, the default, is at
// once), so a build runs in seconds rather than at the builder's 5 s poll.
//
// Error codes are those of the ECS API reference for each action:
// MissingParameter, InvalidInstanceId.NotFound, IncorrectInstanceStatus,
// InvalidVpcId.NotFound, InvalidVSwitchId.NotFound, InvalidZoneId.NotFound,
// InvalidSecurityGroupId.NotFound, InvalidKeyPairName.NotFound,
// KeyPair.AlreadyExist, DependencyViolation(.VSwitch, .SecurityGroup),
// IncorrectVpcStatus, InvalidImageId.NotFound, InvalidInstanceType.ValueNotSupported.
package builderapi

import (
	"crypto/rand"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Images is what the resources need of ecstest's images: whether a source
// image exists (and is Available) in a region, and a family's newest image.
type Images interface {
	SourceImage(region, imageID string) bool
	FamilyImage(region, family string) string
}

// Result is one action's outcome: an error when Code is set, otherwise the
// answer's fields (ecstest adds RequestId).
type Result struct {
	Status  int
	Code    string
	Message string
	Body    map[string]any
}

func ok(body map[string]any) Result {
	if body == nil {
		body = map[string]any{}
	}
	return Result{Status: 200, Body: body}
}

func fail(status int, code, message string) Result {
	return Result{Status: status, Code: code, Message: message}
}

func missing(name string) Result {
	return fail(400, "MissingParameter", "The input parameter \""+name+"\" that is mandatory for processing this request is not supplied.")
}

func notFound(code, what string) Result {
	return fail(404, code, "The specified "+what+" does not exist.")
}

// actions are the actions Serve answers.
var actions = map[string]func(*Store, string, url.Values) Result{
	"DescribeZones":                (*Store).describeZones,
	"CreateVpc":                    (*Store).createVpc,
	"DescribeVpcs":                 (*Store).describeVpcs,
	"DeleteVpc":                    (*Store).deleteVpc,
	"CreateVSwitch":                (*Store).createVSwitch,
	"DescribeVSwitches":            (*Store).describeVSwitches,
	"DeleteVSwitch":                (*Store).deleteVSwitch,
	"CreateSecurityGroup":          (*Store).createSecurityGroup,
	"DescribeSecurityGroups":       (*Store).describeSecurityGroups,
	"AuthorizeSecurityGroup":       (*Store).authorizeSecurityGroup,
	"AuthorizeSecurityGroupEgress": (*Store).authorizeSecurityGroup,
	"DeleteSecurityGroup":          (*Store).deleteSecurityGroup,
	"CreateKeyPair":                (*Store).createKeyPair,
	"DeleteKeyPairs":               (*Store).deleteKeyPairs,
	"AttachKeyPair":                (*Store).attachKeyPair,
	"DetachKeyPair":                (*Store).detachKeyPair,
	"CreateInstance":               (*Store).createInstance,
	"DescribeInstances":            (*Store).describeInstances,
	"StartInstance":                (*Store).startInstance,
	"StopInstance":                 (*Store).stopInstance,
	"DeleteInstance":               (*Store).deleteInstance,
}

// Handles reports whether Serve answers action.
func Handles(action string) bool { _, ok := actions[action]; return ok }

// Actions lists the actions Serve answers, sorted.
func Actions() []string {
	out := make([]string, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// InstanceTypes are the types every emulated zone offers. The builder picks
// the first zone offering its instance_type, so a template's type must be
// one of these (the common current families; documented in
// docs/offline-pipelines.md).
var InstanceTypes = []string{
	"ecs.t5-lc1m1.small", "ecs.t5-lc1m2.small", "ecs.t6-c1m1.large", "ecs.n1.tiny", "ecs.n1.small",
	"ecs.sn1ne.large", "ecs.g5.large", "ecs.g6.large", "ecs.g7.large", "ecs.g8i.large",
	"ecs.c6.large", "ecs.c7.large", "ecs.r6.large", "ecs.r7.large", "ecs.e-c1m1.large", "ecs.u1-c1m1.large",
}

// Store holds the resources of every region. Safe for concurrent use.
type Store struct {
	images Images
	clock  func() time.Time

	mu        sync.Mutex
	polls     int
	vpcs      map[string]*vpc
	vswitches map[string]*vswitch
	groups    map[string]*group
	keypairs  map[string]*keypair // by region + "/" + name
	instances map[string]*instance
}

// New returns an empty store reading images through images.
func New(images Images, clock func() time.Time) *Store {
	return &Store{
		images: images, clock: clock,
		vpcs: map[string]*vpc{}, vswitches: map[string]*vswitch{}, groups: map[string]*group{},
		keypairs: map[string]*keypair{}, instances: map[string]*instance{},
	}
}

// SetPolls sets how many Describe polls naming a resource see its
// intermediate status (Pending, Starting, Stopping) before the final one.
// It applies to transitions started from now on.
func (s *Store) SetPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls = max(n, 0)
}

// Serve answers one action for region (checked by the caller). handled is
// false for actions this package does not answer.
func (s *Store) Serve(action, region string, p url.Values) (r Result, handled bool) {
	f, ok := actions[action]
	if !ok {
		return Result{}, false
	}
	return f(s, region, p), true
}

// Instance reports an instance's status and the image it was created from.
func (s *Store) Instance(region, id string) (status, imageID string, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil || in.region != region {
		return "", "", false
	}
	return in.status.now, in.imageID, true
}

// Counts is how many resources of each kind exist now, for tests that check
// a build cleaned up after itself.
func (s *Store) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]int{"vpcs": len(s.vpcs), "vswitches": len(s.vswitches), "security_groups": len(s.groups),
		"key_pairs": len(s.keypairs), "instances": len(s.instances)}
}

// status is a resource's status, possibly on its way to another one: a
// Describe that names the resource moves it on (see SetPolls).
type status struct {
	now, next string
	left      int
}

func (st *status) set(now, next string, polls int) { *st = status{now: now, next: next, left: polls} }

// poll moves the status on by one Describe that named it.
func (st *status) poll() {
	if st.next == "" {
		return
	}
	if st.left > 0 {
		st.left--
		return
	}
	st.now, st.next = st.next, ""
}

func (s *Store) timestamp() string { return s.clock().UTC().Format("2006-01-02T15:04:05Z") }

func newID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("builderapi: crypto/rand: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// idList reads a parameter the API takes as a JSON array of strings
// (InstanceIds, KeyPairNames); a bare comma list is accepted too.
func idList(raw string) []string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	var ids []string
	if strings.HasPrefix(raw, "[") {
		if json.Unmarshal([]byte(raw), &ids) != nil {
			return nil
		}
		return ids
	}
	for _, id := range strings.Split(raw, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// numbered reads the API's repeated parameters Name.1.Key, Name.2.Key, ...
func numbered(p url.Values, name, field string) []string {
	var out []string
	for i := 1; ; i++ {
		k := name + "." + itoa(i) + "." + field
		if !p.Has(k) {
			return out
		}
		out = append(out, p.Get(k))
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
