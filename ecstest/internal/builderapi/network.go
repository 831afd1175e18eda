package builderapi

import (
	"net/url"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// Zones, VPCs, VSwitches and security groups. Answers are built from the
// SDK's own types, so every field the builder reads has the name and JSON
// type the SDK unmarshals.

type vpc struct {
	region, id, name, cidr, created string
	status                          status
}

type vswitch struct {
	region, id, vpcID, zoneID, name, cidr, created string
	status                                         status
}

type group struct {
	region, id, vpcID, name, created string
	rules                            int
}

// zones are a region's emulated zones: <region>-a and <region>-b, each
// offering VSwitches, instances and every InstanceTypes entry.
func zones(region string) []string { return []string{region + "-a", region + "-b"} }

func (s *Store) describeZones(region string, _ url.Values) Result {
	var out []ecs.Zone
	for _, z := range zones(region) {
		var zone ecs.Zone
		zone.ZoneId, zone.LocalName = z, z
		zone.AvailableResourceCreation.ResourceTypes = []string{"VSwitch", "Instance", "Disk", "IoOptimized"}
		zone.AvailableInstanceTypes.InstanceTypes = append([]string(nil), InstanceTypes...)
		zone.AvailableDiskCategories.DiskCategories = []string{"cloud_efficiency", "cloud_ssd", "cloud_essd"}
		out = append(out, zone)
	}
	return ok(map[string]any{"Zones": map[string]any{"Zone": out}})
}

func (s *Store) createVpc(region string, p url.Values) Result {
	cidr := p.Get("CidrBlock")
	if cidr == "" {
		cidr = "172.16.0.0/12"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &vpc{region: region, id: newID("vpc-"), name: p.Get("VpcName"), cidr: cidr, created: s.timestamp()}
	v.status.set("Pending", "Available", s.polls)
	s.vpcs[v.id] = v
	return ok(map[string]any{"VpcId": v.id, "VRouterId": newID("vrt-"), "RouteTableId": newID("vtb-")})
}

func (s *Store) describeVpcs(region string, p url.Values) Result {
	id := p.Get("VpcId")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ecs.Vpc{}
	for _, v := range sorted(s.vpcs) {
		if v.region != region || (id != "" && v.id != id) {
			continue
		}
		if id != "" {
			v.status.poll()
		}
		var switches []string
		for _, sw := range s.vswitches {
			if sw.vpcID == v.id {
				switches = append(switches, sw.id)
			}
		}
		out = append(out, ecs.Vpc{VpcId: v.id, RegionId: region, Status: v.status.now, VpcName: v.name,
			CidrBlock: v.cidr, CreationTime: v.created, VSwitchIds: ecs.VSwitchIds{VSwitchId: switches}})
	}
	return ok(map[string]any{"Vpcs": map[string]any{"Vpc": out}, "TotalCount": len(out), "PageNumber": 1, "PageSize": 10})
}

func (s *Store) deleteVpc(region string, p url.Values) Result {
	id := p.Get("VpcId")
	if id == "" {
		return missing("VpcId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vpcs[id]
	if v == nil || v.region != region {
		return notFound("InvalidVpcId.NotFound", "VPC")
	}
	for _, sw := range s.vswitches {
		if sw.vpcID == id {
			return fail(400, "DependencyViolation.VSwitch", "Specified VPC has VSwitches that must be deleted first.")
		}
	}
	for _, g := range s.groups {
		if g.vpcID == id {
			return fail(400, "DependencyViolation.SecurityGroup", "Specified VPC has security groups that must be deleted first.")
		}
	}
	delete(s.vpcs, id)
	return ok(nil)
}

func (s *Store) createVSwitch(region string, p url.Values) Result {
	for _, name := range []string{"VpcId", "ZoneId", "CidrBlock"} {
		if p.Get(name) == "" {
			return missing(name)
		}
	}
	vpcID, zoneID := p.Get("VpcId"), p.Get("ZoneId")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vpcs[vpcID]
	if v == nil || v.region != region {
		return notFound("InvalidVpcId.NotFound", "VPC")
	}
	if v.status.now != "Available" {
		return fail(400, "IncorrectVpcStatus", "The current status of the VPC does not support this operation.")
	}
	known := false
	for _, z := range zones(region) {
		known = known || z == zoneID
	}
	if !known {
		return notFound("InvalidZoneId.NotFound", "zone")
	}
	sw := &vswitch{region: region, id: newID("vsw-"), vpcID: vpcID, zoneID: zoneID, name: p.Get("VSwitchName"),
		cidr: p.Get("CidrBlock"), created: s.timestamp()}
	sw.status.set("Pending", "Available", s.polls)
	s.vswitches[sw.id] = sw
	return ok(map[string]any{"VSwitchId": sw.id})
}

func (s *Store) describeVSwitches(region string, p url.Values) Result {
	id, vpcID, zoneID := p.Get("VSwitchId"), p.Get("VpcId"), p.Get("ZoneId")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ecs.VSwitch{}
	for _, sw := range sorted(s.vswitches) {
		if sw.region != region || (id != "" && sw.id != id) || (vpcID != "" && sw.vpcID != vpcID) || (zoneID != "" && sw.zoneID != zoneID) {
			continue
		}
		if id != "" {
			sw.status.poll()
		}
		out = append(out, ecs.VSwitch{VSwitchId: sw.id, VpcId: sw.vpcID, ZoneId: sw.zoneID, Status: sw.status.now,
			CidrBlock: sw.cidr, VSwitchName: sw.name, CreationTime: sw.created, AvailableIpAddressCount: 252})
	}
	return ok(map[string]any{"VSwitches": map[string]any{"VSwitch": out}, "TotalCount": len(out), "PageNumber": 1, "PageSize": 10})
}

func (s *Store) deleteVSwitch(region string, p url.Values) Result {
	id := p.Get("VSwitchId")
	if id == "" {
		return missing("VSwitchId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sw := s.vswitches[id]
	if sw == nil || sw.region != region {
		return notFound("InvalidVSwitchId.NotFound", "VSwitch")
	}
	for _, in := range s.instances {
		if in.vswitchID == id {
			return fail(400, "DependencyViolation", "Specified VSwitch has instances that must be deleted first.")
		}
	}
	delete(s.vswitches, id)
	return ok(nil)
}

func (s *Store) createSecurityGroup(region string, p url.Values) Result {
	vpcID := p.Get("VpcId")
	s.mu.Lock()
	defer s.mu.Unlock()
	if vpcID != "" {
		if v := s.vpcs[vpcID]; v == nil || v.region != region {
			return notFound("InvalidVpcId.NotFound", "VPC")
		}
	}
	g := &group{region: region, id: newID("sg-"), vpcID: vpcID, name: p.Get("SecurityGroupName"), created: s.timestamp()}
	s.groups[g.id] = g
	return ok(map[string]any{"SecurityGroupId": g.id})
}

func (s *Store) describeSecurityGroups(region string, p url.Values) Result {
	id, vpcID := p.Get("SecurityGroupId"), p.Get("VpcId")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ecs.SecurityGroup{}
	for _, g := range sorted(s.groups) {
		if g.region != region || (id != "" && g.id != id) || (vpcID != "" && g.vpcID != vpcID) {
			continue
		}
		out = append(out, ecs.SecurityGroup{SecurityGroupId: g.id, SecurityGroupName: g.name, VpcId: g.vpcID,
			SecurityGroupType: "normal", CreationTime: g.created, RuleCount: g.rules})
	}
	return ok(map[string]any{"SecurityGroups": map[string]any{"SecurityGroup": out}, "RegionId": region,
		"TotalCount": len(out), "PageNumber": 1, "PageSize": 10})
}

// authorizeSecurityGroup serves AuthorizeSecurityGroup and its Egress twin:
// the rule is counted, not enforced (no traffic flows in the emulator).
func (s *Store) authorizeSecurityGroup(region string, p url.Values) Result {
	for _, name := range []string{"SecurityGroupId", "IpProtocol", "PortRange"} {
		if p.Get(name) == "" && !(name != "SecurityGroupId" && p.Has("Permissions.1.IpProtocol")) {
			return missing(name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[p.Get("SecurityGroupId")]
	if g == nil || g.region != region {
		return notFound("InvalidSecurityGroupId.NotFound", "security group")
	}
	g.rules++
	return ok(nil)
}

func (s *Store) deleteSecurityGroup(region string, p url.Values) Result {
	id := p.Get("SecurityGroupId")
	if id == "" {
		return missing("SecurityGroupId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil || g.region != region {
		return notFound("InvalidSecurityGroupId.NotFound", "security group")
	}
	for _, in := range s.instances {
		if in.groupID == id {
			return fail(403, "DependencyViolation", "There is still instance(s) in the specified security group.")
		}
	}
	delete(s.groups, id)
	return ok(nil)
}
