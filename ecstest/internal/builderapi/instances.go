package builderapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// Key pairs and instances. An instance is created Pending and becomes
// Stopped; StartInstance moves a Stopped one to Starting, then Running;
// StopInstance a Running one to Stopping, then Stopped (SetPolls). Nothing
// runs: no address answers, which is why templates use communicator "none".

type keypair struct {
	region, name, fingerprint string
}

type instance struct {
	region, id, name, zoneID, instanceType, imageID string
	vswitchID, vpcID, groupID, keyPair, privateIP   string
	created                                         string
	tags                                            map[string]string
	status                                          status
}

func (s *Store) createKeyPair(region string, p url.Values) Result {
	name := p.Get("KeyPairName")
	if name == "" {
		return missing("KeyPairName")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("builderapi: " + err.Error())
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		panic("builderapi: " + err.Error())
	}
	sum := sha256.Sum256(pub)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := region + "/" + name
	if s.keypairs[key] != nil {
		return fail(400, "KeyPair.AlreadyExist", "The key pair already exists.")
	}
	k := &keypair{region: region, name: name, fingerprint: hex.EncodeToString(sum[:16])}
	s.keypairs[key] = k
	return ok(map[string]any{"KeyPairName": name, "KeyPairId": newID("kp-"), "KeyPairFingerPrint": k.fingerprint,
		"PrivateKeyBody": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
}

// deleteKeyPairs deletes the named pairs; names that do not exist are
// skipped, as the API does.
func (s *Store) deleteKeyPairs(region string, p url.Values) Result {
	names := idList(p.Get("KeyPairNames"))
	if len(names) == 0 {
		return missing("KeyPairNames")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		delete(s.keypairs, region+"/"+n)
	}
	return ok(nil)
}

func (s *Store) attachKeyPair(region string, p url.Values) Result {
	return s.keyPairInstances(region, p, true)
}

func (s *Store) detachKeyPair(region string, p url.Values) Result {
	return s.keyPairInstances(region, p, false)
}

// keyPairInstances attaches or detaches a key pair on every instance named.
func (s *Store) keyPairInstances(region string, p url.Values, attach bool) Result {
	name := p.Get("KeyPairName")
	if name == "" {
		return missing("KeyPairName")
	}
	ids := idList(p.Get("InstanceIds"))
	if len(ids) == 0 {
		return missing("InstanceIds")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keypairs[region+"/"+name] == nil {
		return notFound("InvalidKeyPairName.NotFound", "KeyPairName")
	}
	var results []ecs.Result
	for _, id := range ids {
		in := s.instances[id]
		if in == nil || in.region != region {
			return notFound("InvalidInstanceId.NotFound", "InstanceId")
		}
		if attach {
			in.keyPair = name
		} else if in.keyPair == name {
			in.keyPair = ""
		}
		results = append(results, ecs.Result{InstanceId: id, Success: "true", Code: "200", Message: "successful"})
	}
	n := strconv.Itoa(len(ids))
	return ok(map[string]any{"KeyPairName": name, "TotalCount": n, "FailCount": "0", "Results": map[string]any{"Result": results}})
}

func (s *Store) createInstance(region string, p url.Values) Result {
	itype := p.Get("InstanceType")
	if itype == "" {
		return missing("InstanceType")
	}
	if !slices.Contains(InstanceTypes, itype) {
		return fail(400, "InvalidInstanceType.ValueNotSupported", "The specified InstanceType does not exist or beyond the permitted range.")
	}
	if p.Get("SecurityGroupId") == "" {
		return missing("SecurityGroupId")
	}
	imageID := p.Get("ImageId")
	switch {
	case imageID == "" && p.Get("ImageFamily") == "":
		return missing("ImageId")
	case imageID == "":
		imageID = s.images.FamilyImage(region, p.Get("ImageFamily"))
		if imageID == "" {
			return fail(404, "InvalidImageFamily.NotFound", "The specified ImageFamily has no available image.")
		}
	case !s.images.SourceImage(region, imageID):
		return notFound("InvalidImageId.NotFound", "ImageId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[p.Get("SecurityGroupId")]
	if g == nil || g.region != region {
		return notFound("InvalidSecurityGroupId.NotFound", "security group")
	}
	in := &instance{region: region, id: newID("i-"), name: p.Get("InstanceName"), instanceType: itype, imageID: imageID,
		groupID: g.id, created: s.timestamp(), zoneID: p.Get("ZoneId"), tags: map[string]string{}}
	if id := p.Get("VSwitchId"); id != "" {
		sw := s.vswitches[id]
		if sw == nil || sw.region != region {
			return notFound("InvalidVSwitchId.NotFound", "VSwitch")
		}
		if in.zoneID != "" && in.zoneID != sw.zoneID {
			return fail(400, "InvalidVSwitchId.NotFound", "The specified VSwitch is not in the specified zone.")
		}
		in.vswitchID, in.vpcID, in.zoneID = sw.id, sw.vpcID, sw.zoneID
		in.privateIP = "172.16.0." + strconv.Itoa(10+len(s.instances)%200)
	}
	if in.zoneID == "" {
		in.zoneID = zones(region)[0]
	}
	keys, values := numbered(p, "Tag", "Key"), numbered(p, "Tag", "Value")
	for i, k := range keys {
		if i < len(values) {
			in.tags[k] = values[i]
		}
	}
	in.status.set("Pending", "Stopped", s.polls)
	s.instances[in.id] = in
	return ok(map[string]any{"InstanceId": in.id})
}

func (s *Store) describeInstances(region string, p url.Values) Result {
	ids := idList(p.Get("InstanceIds"))
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ecs.Instance{}
	for _, in := range sorted(s.instances) {
		if in.region != region || (len(ids) > 0 && !slices.Contains(ids, in.id)) {
			continue
		}
		if len(ids) > 0 {
			in.status.poll()
		}
		out = append(out, in.answer())
	}
	return ok(map[string]any{"Instances": map[string]any{"Instance": out}, "TotalCount": len(out), "PageNumber": 1, "PageSize": 10})
}

func (in *instance) answer() ecs.Instance {
	a := ecs.Instance{InstanceId: in.id, InstanceName: in.name, RegionId: in.region, ZoneId: in.zoneID,
		InstanceType: in.instanceType, ImageId: in.imageID, Status: in.status.now, CreationTime: in.created,
		KeyPairName: in.keyPair, InstanceNetworkType: "classic", OSType: "linux"}
	if in.vpcID != "" {
		a.InstanceNetworkType = "vpc"
		a.VpcAttributes.VpcId, a.VpcAttributes.VSwitchId = in.vpcID, in.vswitchID
		a.VpcAttributes.PrivateIpAddress.IpAddress = []string{in.privateIP}
	}
	a.SecurityGroupIds.SecurityGroupId = []string{in.groupID}
	keys := make([]string, 0, len(in.tags))
	for k := range in.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a.Tags.Tag = append(a.Tags.Tag, ecs.Tag{TagKey: k, TagValue: in.tags[k], Key: k, Value: in.tags[k]})
	}
	return a
}

// instanceFor finds the instance named by InstanceId. Called with s.mu held.
func (s *Store) instanceFor(region string, p url.Values) (*instance, *Result) {
	id := p.Get("InstanceId")
	if id == "" {
		r := missing("InstanceId")
		return nil, &r
	}
	in := s.instances[id]
	if in == nil || in.region != region {
		r := notFound("InvalidInstanceId.NotFound", "InstanceId")
		return nil, &r
	}
	return in, nil
}

func errInstanceStatus() Result {
	return fail(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
}

func (s *Store) startInstance(region string, p url.Values) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, r := s.instanceFor(region, p)
	if r != nil {
		return *r
	}
	if in.status.now != "Stopped" {
		return errInstanceStatus()
	}
	in.status.set("Starting", "Running", s.polls)
	return ok(nil)
}

func (s *Store) stopInstance(region string, p url.Values) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, r := s.instanceFor(region, p)
	if r != nil {
		return *r
	}
	if in.status.now != "Running" && in.status.now != "Starting" {
		return errInstanceStatus()
	}
	in.status.set("Stopping", "Stopped", s.polls)
	return ok(nil)
}

// deleteInstance deletes a Stopped instance, or any instance with
// Force=true.
func (s *Store) deleteInstance(region string, p url.Values) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, r := s.instanceFor(region, p)
	if r != nil {
		return *r
	}
	if in.status.now != "Stopped" && p.Get("Force") != "true" {
		return errInstanceStatus()
	}
	delete(s.instances, in.id)
	return ok(nil)
}

// sorted returns a map's values ordered by key, so answers are stable.
func sorted[T any](m map[string]*T) []*T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
